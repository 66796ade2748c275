// The demo's e2e suite once more, on NestJS 11: every @nestjs/* import (also those inside Nest's own
// packages) resolves to the NestJS 11 installed in this folder instead of the root's NestJS 12.
const { join } = require('node:path');

const nestDir = join(__dirname, 'node_modules/@nestjs');
process.env.XRAYJS_NEST_DIR = nestDir;
process.env.XRAYJS_NEST_MAJOR = '11';

const base = require('../../jest.preset.cjs').jestProject('demo-nest11', join(__dirname, '../demo'));
base.moduleNameMapper = {
  '^@nestjs/(common|core|platform-express|platform-fastify)(/.*)?$': `${nestDir}/$1$2`,
  ...base.moduleNameMapper,
};
base.testMatch = ['<rootDir>/test/**/*.e2e.spec.ts'];
base.globalSetup = join(__dirname, '../demo/test/support/global-setup.mjs');
base.globalTeardown = join(__dirname, '../demo/test/support/global-teardown.mjs');
module.exports = base;
