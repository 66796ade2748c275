const base = require('../../jest.preset.cjs').jestProject('core', __dirname);
module.exports = { ...base, setupFiles: ['<rootDir>/test/support/local-sampling.cjs', '<rootDir>/test/support/channels.cjs'] };
