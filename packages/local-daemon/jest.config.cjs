module.exports = require('../../jest.preset.cjs').jestProject('local-daemon', __dirname);
