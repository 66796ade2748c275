module.exports = require('../../jest.preset.cjs').jestProject('nestjs', __dirname);
