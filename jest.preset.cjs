// Shared Jest settings for every project. The packages are ES modules ("type": "module"), so Jest runs
// in its ESM mode (node --experimental-vm-modules) and ts-jest emits ESM. Type checking is the
// `typecheck` target's job; ts-jest only transpiles (isolatedModules), which keeps the suites fast.
// Project configs are .cjs because Jest loads a .ts config of a "type": "module" package as ESM.
const { join } = require('node:path');

/** @returns {import('jest').Config} */
function jestProject(displayName, rootDir) {
  return {
    displayName,
    rootDir,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: {
      '^@xrayjs/core$': join(__dirname, 'packages/core/src/index.ts'),
      '^@xrayjs/nestjs$': join(__dirname, 'packages/nestjs/src/index.ts'),
      '^@xrayjs/local-daemon$': join(__dirname, 'packages/local-daemon/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: join(__dirname, 'tsconfig.spec.json') }],
    },
    testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts'],
    testTimeout: 30000,
  };
}

module.exports = { jestProject };
