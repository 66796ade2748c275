#!/usr/bin/env node
// Instructions to write one document and encode it for the datagram, counted by callgrind: the
// part of a sampled request that grows with the document, measured alone and exactly (the server
// windows of `npm run bench` move by several thousand instructions from one window to the next).
//
//   node apps/bench/scripts/document-instructions.mjs [node binary] [core dist directory]
//
// The document is the benchmark's `/two` (a request segment with its http block and two closed
// subsegments). After 200,000 uncounted documents (so that V8 has optimized everything), the counts
// are zeroed and 20,000 documents counted; two builtins nothing else here calls mark the window
// (callgrind's --zero-before and --dump-before). A second core build (an older commit's
// packages/core/dist) can be given to compare.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const COUNTED = 20_000;

if (process.env.DOCUMENT_INSTRUCTIONS_CHILD === '1') {
  const core = await import(pathToFileURL(join(process.env.CORE_DIST, 'esm/index.js')).href);
  const make = () => {
    const segment = new core.Segment('bench', { aws: { xray: { sdk: 'xrayjs for Node.js', sdk_version: '0.1.0' } }, service: { runtime: 'node', runtime_version: process.version } });
    segment.setHttpRequest({ method: 'GET', url: 'http://127.0.0.1:3000/two', client_ip: '127.0.0.1', user_agent: 'autocannon' });
    for (const name of ['WorkService.first', 'WorkService.second']) new core.Subsegment(name, segment).close();
    segment.setHttpResponse({ status: 200, content_length: 11 });
    segment.close();
    return segment;
  };
  const segments = Array.from({ length: 64 }, make);
  let bytes = 0;
  // What the document writer and dgram do with a closed segment: its text, then a Buffer of it.
  const one = (i) => {
    bytes += Buffer.from(segments[i & 63].serialize()).length;
  };
  for (let i = 0; i < 200_000; i++) one(i);
  [].copyWithin(0, 0); // --zero-before
  for (let i = 0; i < COUNTED; i++) one(i);
  'a'.normalize('NFD'); // --dump-before
  process.stdout.write(String(Buffer.byteLength(segments[0].serialize())));
  process.exit(bytes > 0 ? 0 : 1);
}

const node = process.argv[2] ?? process.execPath;
const coreDist = process.argv[3] ?? join(here, '../../../packages/core/dist');
const dir = mkdtempSync(join(tmpdir(), 'document-instructions-'));
try {
  const size = execFileSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.out')}`, '--zero-before=Builtins_ArrayPrototypeCopyWithin', '--dump-before=Builtins_StringPrototypeNormalizeIntl', node, fileURLToPath(import.meta.url)],
    { env: { ...process.env, DOCUMENT_INSTRUCTIONS_CHILD: '1', CORE_DIST: coreDist }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const dump = readdirSync(dir).find((f) => f.endsWith('.1'));
  if (!dump) throw new Error('callgrind wrote no counted window');
  const total = Number(/^totals:\s*(\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))?.[1]);
  const node_version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  process.stdout.write(`${JSON.stringify({ node: node_version, coreDist, documentBytes: Number(size), instructionsPerDocument: Math.round(total / COUNTED) })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
