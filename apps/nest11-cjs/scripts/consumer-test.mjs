#!/usr/bin/env node
// The packages as a NestJS 11 CommonJS application gets them from the registry:
//  1. `npm pack` @xrayjs/core and @xrayjs/nestjs and unpack them into this app's node_modules (real
//     folders, resolving @nestjs/* to this app's NestJS 11, not the repository's NestJS 12);
//  2. compile the app with TypeScript 5 twice, `module: commonjs` and `module: nodenext`, run each
//     build and check that a request reaches a UDP daemon stand-in as a schema-valid segment;
//  3. run its unit test with the stock `nest new` set-up: Jest 29 + ts-jest, CommonJS.
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(app, '../..');
const step = (text) => process.stdout.write(`nest11-cjs: ${text}\n`);
const fail = (text) => {
  process.stderr.write(`nest11-cjs: FAILED: ${text}\n`);
  process.exit(1);
};
const appRequire = createRequire(join(app, 'package.json'));

// 1. Packed packages, unpacked into this app.
const work = mkdtempSync(join(tmpdir(), 'xrayjs-pack-'));
try {
  for (const name of ['core', 'nestjs']) {
    const tarball = execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: join(root, 'packages', name), encoding: 'utf8' }).trim().split('\n').pop();
    const unpacked = join(work, name);
    execFileSync('mkdir', ['-p', unpacked]);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', unpacked]);
    const target = join(app, 'node_modules/@xrayjs', name);
    rmSync(target, { recursive: true, force: true });
    cpSync(join(unpacked, 'package'), target, { recursive: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const nestjsEntry = appRequire.resolve('@xrayjs/nestjs');
const coreEntry = createRequire(nestjsEntry).resolve('@xrayjs/core');
if (!nestjsEntry.endsWith('node_modules/@xrayjs/nestjs/dist/cjs/index.js')) fail(`require('@xrayjs/nestjs') resolves to ${nestjsEntry}`);
if (!coreEntry.endsWith('node_modules/@xrayjs/core/dist/cjs/index.js')) fail(`@xrayjs/nestjs's require('@xrayjs/core') resolves to ${coreEntry}`);
const nestVersion = JSON.parse(readFileSync(createRequire(nestjsEntry).resolve('@nestjs/core/package.json'), 'utf8')).version;
if (!nestVersion.startsWith('11.')) fail(`@xrayjs/nestjs sees @nestjs/core ${nestVersion}, not 11`);
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
for (const name of ['core', 'nestjs']) {
  for (const file of walk(join(app, 'node_modules/@xrayjs', name, 'dist/cjs')).filter((f) => f.endsWith('.js'))) {
    if (readFileSync(file, 'utf8').includes('import.meta')) fail(`${file} (loaded by CommonJS) uses import.meta`);
  }
}
step(`packed @xrayjs/core and @xrayjs/nestjs unpacked; require() gets dist/cjs; they see NestJS ${nestVersion}`);

// 2. Two TypeScript 5 builds, each run for real against a UDP stand-in for the daemon.
const tsc = appRequire.resolve('typescript/bin/tsc');
const tsVersion = JSON.parse(readFileSync(join(dirname(tsc), '../package.json'), 'utf8')).version;
if (!tsVersion.startsWith('5.')) fail(`TypeScript here is ${tsVersion}, not 5.x`);
const Ajv = appRequire(join(root, 'node_modules/ajv-draft-04'));
const validate = new (Ajv.default ?? Ajv)({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(root, 'packages/local-daemon/schema/xray-segment-document.schema.json'), 'utf8')));

async function runBuild(project, outDir) {
  rmSync(join(app, outDir), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: app, stdio: 'inherit' });
  const socket = createSocket('udp4');
  const docs = [];
  socket.on('message', (msg) => {
    const text = msg.toString('utf8');
    docs.push(JSON.parse(text.slice(text.indexOf('\n') + 1)));
  });
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  const child = spawn(process.execPath, [join(app, outDir, 'main.js')], {
    cwd: app,
    env: { ...process.env, PORT: '0', AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${socket.address().port}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`the ${outDir} app exited with ${code}`)));
    });
    const status = await new Promise((resolve, reject) =>
      request({ host: '127.0.0.1', port, path: '/orders/1' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject).end(),
    );
    for (let i = 0; i < 100 && !docs.some((d) => d.name === 'orders-cjs'); i++) await new Promise((r) => setTimeout(r, 20));
    const segment = docs.find((d) => d.name === 'orders-cjs');
    if (status !== 200 || !segment) fail(`${project}: status ${status}, documents ${JSON.stringify(docs).slice(0, 300)}`);
    if (!validate(segment)) fail(`${project}: the segment fails the schema: ${JSON.stringify(validate.errors)}`);
    if (segment.subsegments?.[0]?.name !== 'OrdersService.find' || segment.annotations?.http_route !== '/orders/:id') fail(`${project}: ${JSON.stringify(segment)}`);
    step(`${project} (TypeScript ${tsVersion}): built, ran, and GET /orders/1 arrived as a valid segment with its subsegment`);
  } finally {
    child.kill();
    socket.close();
  }
}
await runBuild('tsconfig.commonjs.json', 'dist-commonjs');
await runBuild('tsconfig.json', 'dist-nodenext');

// 3. The stock unit test set-up: `jest` with the package.json config (ts-jest, CommonJS).
const tsJest = appRequire.resolve('ts-jest');
const tsForJest = JSON.parse(readFileSync(createRequire(tsJest).resolve('typescript/package.json'), 'utf8')).version;
if (!tsForJest.startsWith('5.')) fail(`ts-jest here compiles with TypeScript ${tsForJest}, not 5.x`);
if (!existsSync(join(root, 'node_modules/jest/bin/jest.js'))) fail('jest is not installed');
execFileSync(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), '--ci'], { cwd: app, stdio: 'inherit' });
step(`Jest 29 + ts-jest (TypeScript ${tsForJest}, CommonJS): passed`);
