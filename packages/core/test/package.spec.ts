import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { exportTargets, filesContaining, packContents, unresolvedMapSources } from './support/package-contents.js';

const DIR = fileURLToPath(new URL('..', import.meta.url));

// The built package (`dist/`, made by the build target this suite depends on), as npm would pack it.
describe('@xrayjs/core as published', () => {
  const { files, manifest } = packContents(DIR);

  it('packs the builds, the sources their maps point to, README and LICENSE, and nothing else', () => {
    for (const f of ['README.md', 'LICENSE', 'package.json', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'src/index.ts']) expect(files).toContain(f);
    expect(files.filter((f) => /^(test|coverage)\/|tsbuildinfo$|^tsconfig|^project\.json$|^jest\.config/.test(f))).toEqual([]);
    expect(unresolvedMapSources(DIR, files)).toEqual([]);
    for (const target of exportTargets(manifest.exports)) expect(files).toContain(target.replace(/^\.\//, ''));
    expect(filesContaining(DIR, files, 'dist/cjs/', 'import.meta')).toEqual([]);
  });

  it('has the metadata a registry page needs', () => {
    expect(manifest).toMatchObject({ license: 'MIT', sideEffects: false, repository: { directory: 'packages/core' }, homepage: expect.any(String), bugs: { url: expect.any(String) }, engines: { node: expect.stringContaining('24') } });
    expect((manifest.keywords as string[]).length).toBeGreaterThan(3);
  });

  it('is one implementation whether imported or required: one recorder, one class of each', async () => {
    const esm = (await import(`${DIR}dist/esm/index.js`)) as Record<string, unknown>;
    const cjs = createRequire(import.meta.url)(`${DIR}dist/cjs/index.js`) as Record<string, unknown>;
    expect(Object.keys(esm).sort()).toEqual(Object.keys(cjs).filter((k) => k !== '__esModule').sort());
    expect(esm.recorder).toBe(cjs.recorder);
    expect(esm.Segment).toBe(cjs.Segment);
    expect(esm.Recorder).toBe(cjs.Recorder);
  });
});
