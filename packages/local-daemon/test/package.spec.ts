import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { exportTargets, filesContaining, packContents, unresolvedMapSources } from '../../core/test/support/package-contents.js';

const DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${DIR}dist/cjs/cli.js`;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('@xrayjs/local-daemon as published', () => {
  const { files, manifest } = packContents(DIR);

  it('packs both builds, the viewer, the schema with its licence, the sources, README and LICENSE', () => {
    for (const f of ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/cjs/cli.js', 'dist/cjs/package.json', 'viewer/index.html', 'viewer/app.js', 'schema/xray-segment-document.schema.json', 'schema/LICENSE.md', 'schema/SOURCES.md', 'README.md', 'LICENSE', 'src/index.ts']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(test|coverage)\/|tsbuildinfo$|^tsconfig|^project\.json$|^jest\.config/.test(f))).toEqual([]);
    expect(unresolvedMapSources(DIR, files)).toEqual([]);
    for (const target of exportTargets(manifest.exports)) expect(files).toContain(target.replace(/^\.\//, ''));
    expect(filesContaining(DIR, files, 'dist/cjs/', 'import.meta')).toEqual([]);
    expect(manifest).toMatchObject({ bin: { 'xray-local': './dist/cjs/cli.js' }, dependencies: { '@xrayjs/core': expect.any(String) }, repository: { directory: 'packages/local-daemon' } });
  });

  describe('xray-local', () => {
    it('prints its version and its help', () => {
      expect(cli('--version')).toMatchObject({ status: 0, stdout: `${manifest.version as string}\n` });
      expect(cli('-h').stdout).toContain('--viewer-port');
    });

    it.each([
      [['--bogus'], /^xray-local: Unknown option '--bogus' \(xray-local --help lists the options\)\n$/],
      [['-p', 'abc'], /^xray-local: --viewer-port must be a whole number from 0 to 65535, not "abc"/],
      [['--max-traces', '0'], /^xray-local: --max-traces must be a whole number from 1/],
      [['-a', 'nope'], /^xray-local: invalid daemon address "nope": "nope" has no port \(expected host:port\)/],
      [['stray'], /^xray-local: Unexpected argument 'stray'/],
    ])('refuses %j with one line and exit code 2', (args, message) => {
      const r = cli(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('says which address is in use and how to move', async () => {
      const taken = createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      const port = (taken.address() as { port: number }).port;
      try {
        const r = cli('-a', '127.0.0.1:0', '-p', String(port));
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^xray-local: the viewer 127\\.0\\.0\\.1:${port} is already in use: use another port with -p`));
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      } finally {
        taken.close();
      }
    });

    it('runs from the ES module build too', () => {
      expect(execFileSync(process.execPath, [`${DIR}dist/esm/cli.js`, '--version'], { encoding: 'utf8' })).toBe(`${manifest.version as string}\n`);
    });
  });
});
