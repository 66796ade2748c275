module.exports = require('../../jest.preset.cjs').jestProject('demo', __dirname);
