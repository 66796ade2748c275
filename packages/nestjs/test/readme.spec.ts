import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORK = fileURLToPath(new URL('./.readme/', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** The README's quick start, as the files it names in its first line (`// src/....ts`). */
function quickStartFiles(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start (NestJS)'), readme.indexOf('## Working on the repository'));
  const files = new Map<string, string>();
  for (const [, body] of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const name = /^\/\/ (src\/[\w./-]+\.ts)\n/.exec(body)?.[1];
    if (name) files.set(name, body);
  }
  return files;
}

/** Writes the files into a project of their own inside the repository (so that its packages resolve). */
function project(dir: string, type: 'module' | 'commonjs', compilerOptions: Record<string, unknown>): string {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, body] of quickStartFiles()) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `readme-${type}`, private: true, type }));
  const options = { strict: true, experimentalDecorators: true, emitDecoratorMetadata: true, target: 'ES2022', skipLibCheck: false, rootDir: 'src', outDir: 'dist', types: ['node', 'jest'], ...compilerOptions };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['src/**/*.ts'] }));
  return dir;
}

describe('README quick start', () => {
  it('has the files an application needs, and a test', () => {
    expect([...quickStartFiles().keys()].sort()).toEqual(['src/app.module.ts', 'src/main.ts', 'src/orders.controller.ts', 'src/orders.e2e-spec.ts', 'src/orders.service.ts']);
  });

  it.each<[string, 'module' | 'commonjs', Record<string, unknown>]>([
    ['as ES modules (NestJS 12, module nodenext)', 'module', { module: 'nodenext', moduleResolution: 'nodenext' }],
    ['as CommonJS (module commonjs)', 'commonjs', { module: 'commonjs', moduleResolution: 'bundler', esModuleInterop: true }],
  ])('compiles as written %s', (_, type, options) => {
    const dir = project(join(WORK, type), type, options);
    expect(() => execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });

  it('its test passes (Jest, the compiled ES module build)', () => {
    const dir = join(WORK, 'module');
    // The files compiled by the previous test; run the compiled test with Jest as plain ES modules.
    const jestConfig = { testEnvironment: 'node', rootDir: join(dir, 'dist'), testMatch: ['**/*.e2e-spec.js'], transform: {} };
    writeFileSync(join(dir, 'jest.config.json'), JSON.stringify(jestConfig));
    const run = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', join(ROOT, 'node_modules/jest/bin/jest.js'), '--ci', '--forceExit', '-c', join(dir, 'jest.config.json')], { cwd: dir, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 60_000 });
    expect({ status: run.status, summary: /Tests:.*/.exec(run.stderr)?.[0] }).toEqual({ status: 0, summary: expect.stringMatching(/^Tests:\s+1 passed, 1 total/) });
  });
});
