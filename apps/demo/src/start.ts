// `npm start`: the local X-Ray daemon and viewer, local DynamoDB and S3, an embedded PostgreSQL, the
// catalog service, and the demo app that calls it, all traced into the local daemon.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { LocalDaemon } from '@xrayjs/local-daemon';

import { startLocalAws } from './catalog/local-aws.js';
import { startLocalPostgres } from './data/local-postgres.js';
import { CATALOG_READY_LINE, READY_LINE } from './ready-line.js';

const daemon = await LocalDaemon.start({
  address: process.env.XRAY_LOCAL_ADDRESS ?? '127.0.0.1:2000',
  viewerPort: Number(process.env.XRAY_VIEWER_PORT ?? 2001),
  file: process.env.XRAY_LOCAL_FILE,
});
const aws = await startLocalAws();
// The orders' database: an embedded PostgreSQL, unless DEMO_DATABASE_URL names one.
const postgres = process.env.DEMO_DATABASE_URL ? undefined : await startLocalPostgres();
const port = process.env.PORT ?? '3000';
const catalogPort = process.env.CATALOG_PORT ?? '3001';
const env = {
  ...process.env,
  AWS_XRAY_DAEMON_ADDRESS: daemon.daemonAddress,
  DEMO_DATABASE_URL: process.env.DEMO_DATABASE_URL ?? postgres!.url,
  CATALOG_DYNAMODB_ENDPOINT: aws.dynamodbEndpoint,
  CATALOG_S3_ENDPOINT: aws.s3Endpoint,
  CATALOG_PORT: catalogPort,
  CATALOG_URL: `http://127.0.0.1:${catalogPort}`,
  PORT: port,
};
const run = (file: string): ChildProcess => spawn(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'], env });
// The URLs go last, once both services say they listen (after Nest's start-up lines).
let appReady = false;
let catalogReady = false;
const announce = (): void => {
  if (!appReady || !catalogReady) return;
  process.stdout.write(
    `\n  Demo app:     http://127.0.0.1:${port}/\n  Trace viewer: ${daemon.viewerUrl}\n  (X-Ray daemon stand-in on UDP ${daemon.udpAddress}; the catalog service on :${catalogPort} with local DynamoDB and S3; PostgreSQL ${postgres ? `embedded on :${postgres.port}` : 'from DEMO_DATABASE_URL'}; Ctrl-C stops all)\n\n`,
  );
};
/** Passes a child's output through and calls `ready` once `line` has appeared in it. */
const watch = (child: ChildProcess, line: string, ready: () => void): void => {
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (buffered === null) return;
    buffered += chunk.toString('utf8');
    if (buffered.includes(line)) {
      buffered = null as unknown as string;
      ready();
    }
  });
};
const catalog = run('./catalog/main.js');
watch(catalog, CATALOG_READY_LINE, () => {
  catalogReady = true;
  announce();
});
const app = run('./main.js');
watch(app, READY_LINE, () => {
  appReady = true;
  announce();
});
let stopping = false;
const stop = (code = 0) => {
  if (stopping) return;
  stopping = true;
  app.kill('SIGTERM');
  catalog.kill('SIGTERM');
  void Promise.allSettled([daemon.stop(), aws.stop(), postgres?.stop()]).finally(() => process.exit(code));
};
app.on('exit', (code) => stop(code ?? 0));
catalog.on('exit', (code) => stop(code ?? 0));
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());
