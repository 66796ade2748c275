module.exports = require('../../jest.preset.cjs').jestProject('core', __dirname);
