import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { exportTargets, filesContaining, packContents, unresolvedMapSources } from '../../core/test/support/package-contents.js';

const DIR = fileURLToPath(new URL('..', import.meta.url));

describe('@xrayjs/nestjs as published', () => {
  const { files, manifest } = packContents(DIR);

  it('packs both builds (also the testing entry), the sources, README and LICENSE, and nothing else', () => {
    for (const format of ['esm', 'cjs']) {
      for (const f of ['index.js', 'index.d.ts', 'testing/index.js', 'testing/index.d.ts']) expect(files).toContain(`dist/${format}/${f}`);
    }
    for (const f of ['README.md', 'LICENSE', 'dist/cjs/package.json', 'src/index.ts']) expect(files).toContain(f);
    expect(files.filter((f) => /^(test|coverage)\/|tsbuildinfo$|^tsconfig|^project\.json$|^jest\.config/.test(f))).toEqual([]);
    expect(unresolvedMapSources(DIR, files)).toEqual([]);
    for (const target of exportTargets(manifest.exports)) expect(files).toContain(target.replace(/^\.\//, ''));
    expect(filesContaining(DIR, files, 'dist/cjs/', 'import.meta')).toEqual([]);
  });

  it('has the metadata a registry page needs, and the peers of both Nest majors', () => {
    expect(manifest).toMatchObject({
      license: 'MIT',
      sideEffects: false,
      repository: { directory: 'packages/nestjs' },
      peerDependencies: { '@nestjs/common': '^11.0.0 || ^12.0.0', '@nestjs/core': '^11.0.0 || ^12.0.0' },
      peerDependenciesMeta: { '@nestjs/testing': { optional: true } },
    });
  });

  it('loads as CommonJS with require() and as an ES module in plain Node, with the same core underneath', () => {
    // In a Node process of its own (Jest's own require() cannot load NestJS 12, which is ES modules only;
    // the CommonJS build under NestJS 11 and Jest is apps/nest11-cjs's test).
    const script = `
      const { createRequire } = require('node:module');
      const cjs = require(${JSON.stringify(`${DIR}dist/cjs/index.js`)});
      const testing = require(${JSON.stringify(`${DIR}dist/cjs/testing/index.js`)});
      import(${JSON.stringify(`${DIR}dist/esm/index.js`)}).then((esm) => {
        process.stdout.write(JSON.stringify({
          cjs: typeof cjs.XRayModule, esm: typeof esm.XRayModule, testing: typeof testing.captureXRay,
          sameCore: cjs.NOOP_SEGMENT === esm.NOOP_SEGMENT,
        }));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: DIR });
    expect(JSON.parse(out)).toEqual({ cjs: 'function', esm: 'function', testing: 'function', sameCore: true });
  });
});
