const { join } = require('node:path');

const base = require('../../jest.preset.cjs').jestProject('demo', __dirname);
// One embedded PostgreSQL for every suite of the demo (its orders live there).
base.globalSetup = join(__dirname, 'test/support/global-setup.mjs');
base.globalTeardown = join(__dirname, 'test/support/global-teardown.mjs');
module.exports = base;
