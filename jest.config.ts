import type { Config } from 'jest';

// Runs every project's tests from the root (`npx jest`); `npm test` runs them project by project
// through Nx, each with its own jest.config.cjs.
const config: Config = {
  projects: ['<rootDir>/packages/*/jest.config.cjs', '<rootDir>/apps/*/jest.config.cjs'],
};

export default config;
