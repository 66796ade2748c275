import type { Server } from 'node:http';

import { createBenchApp } from './app.js';
import { VARIANTS, type Variant } from './variants.js';

const variant = (process.env.BENCH_VARIANT ?? 'untraced') as Variant;
if (!VARIANTS.includes(variant)) throw new Error(`unknown BENCH_VARIANT ${variant}`);
const { app, pool } = await createBenchApp(variant, process.env.BENCH_PG_URL ?? 'postgres://postgres:bench@127.0.0.1:5432/postgres');
if (process.env.BENCH_ALS_ONLY === '1') {
  // Diagnostic: the untraced app with one AsyncLocalStorage entered per request, nothing else.
  const { AsyncLocalStorage } = await import('node:async_hooks');
  const als = new AsyncLocalStorage<object>();
  const server = app.getHttpServer() as Server;
  const [listener] = server.listeners('request') as ((...a: unknown[]) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req, res) => als.run({}, () => listener.call(server, req, res)));
}
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
const address = app.getHttpServer().address() as { port: number };
process.stdout.write(`READY ${address.port}\n`);
process.on('SIGTERM', () => {
  const flush = (globalThis as { __benchShutdown?: () => Promise<void> }).__benchShutdown;
  void Promise.all([app.close(), pool.end(), flush?.()]).finally(() => process.exit(0));
});
