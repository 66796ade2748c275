import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import knexFactory from 'knex';
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';

import { diag } from '../../src/diag.js';
import { InMemoryEmitter, Recorder } from '../../src/index.js';
import { instrumentations } from '../../src/instrumentation/registry.js';
import { validateSegmentDocument } from '../support/conformance.js';
import { subsegmentsOf } from '../support/documents.js';
import { leakedValues, startPostgres, type TestPostgres } from '../support/services.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Parameter values the tests pass; none may appear in any document. */
const SECRETS = ['s3cret-value-4711', 'hunter2-password', 'not-a-number-0815', 'alice@example.org'];

describe('pg, against an embedded PostgreSQL', () => {
  let db: TestPostgres;
  let emitter: InMemoryEmitter;
  let recorder: Recorder;
  const all: Doc[] = [];

  beforeAll(async () => {
    db = await startPostgres();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE accounts (id serial PRIMARY KEY, email text UNIQUE NOT NULL, secret text)');
    await client.end();
  }, 120_000);
  afterAll(async () => {
    await db?.stop();
  });

  async function start(options: Record<string, unknown> = {}): Promise<void> {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'pg-caller', EMITTER: emitter, SAMPLING: false, LOGGER: false, ...options });
    await recorder.ready();
  }
  afterEach(async () => {
    all.push(...(emitter?.documents ?? []));
    await recorder?.shutdown();
    diag.reset();
  });

  const config = (): pg.ClientConfig => ({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  const subs = (): (Doc & { parentId: string })[] => subsegmentsOf(emitter.documents as Doc[]);

  it('makes a query a remote subsegment <database>@<host> with the sql block, and the password nowhere', async () => {
    await start();
    const client = new pg.Client(config());
    const rows = await recorder.captureSegment('request', async () => {
      await client.connect();
      return (await client.query('SELECT $1::text AS v', [SECRETS[0]])).rows;
    });
    await client.end();
    expect(rows).toEqual([{ v: SECRETS[0] }]);
    const [connect, query] = subs();
    expect(connect).toMatchObject({ name: 'postgres@127.0.0.1', namespace: 'remote', metadata: { sql: { operation: 'connect' } } });
    expect(query).toMatchObject({
      name: 'postgres@127.0.0.1',
      namespace: 'remote',
      sql: {
        url: `postgresql://127.0.0.1:${db.port}/postgres`,
        database_type: 'PostgreSQL',
        driver_version: expect.stringMatching(/^node-postgres 8\.\d+\.\d+$/),
        database_version: expect.stringMatching(/^\d+\.\d+/),
        user: 'postgres',
        preparation: 'statement',
        sanitized_query: 'SELECT $1::text AS v',
      },
    });
    expect(query.fault).toBeUndefined();
    expect(JSON.stringify(emitter.documents)).not.toContain(db.password);
    for (const doc of emitter.documents) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('traces the callback form and a config with a callback; each callback runs in the caller\u2019s trace', async () => {
    await start();
    const client = new pg.Client(config());
    await client.connect();
    const seen: unknown[] = [];
    await recorder.captureSegment('request', async (segment) => {
      await new Promise<void>((resolve, reject) =>
        client.query('SELECT 1 AS one', (error: Error | null, result: pg.QueryResult) => {
          seen.push(recorder.currentEntity() === segment, result?.rows[0]);
          if (error) reject(error);
          else resolve();
        }),
      );
      await new Promise<void>((resolve, reject) =>
        client.query({ text: 'SELECT $1::int AS two', values: [2], callback: (error: Error | null, result: pg.QueryResult) => {
          seen.push(recorder.currentEntity() === segment, result?.rows[0]);
          if (error) reject(error);
          else resolve();
        } } as pg.QueryConfig),
      );
    });
    await client.end();
    expect(seen).toEqual([true, { one: 1 }, true, { two: 2 }]);
    expect(subs().map((s) => [s.sql.sanitized_query, s.sql.preparation])).toEqual([
      ['SELECT 1 AS one', 'call'],
      ['SELECT $1::int AS two', 'statement'],
    ]);
  });

  it('traces a submittable (a pg.Query passed in) until the server is ready for the next query', async () => {
    await start();
    const client = new pg.Client(config());
    await client.connect();
    const rows: unknown[] = [];
    await recorder.captureSegment('request', async () => {
      const submitted = client.query(new pg.Query('SELECT generate_series(1, 3) AS n'));
      submitted.on('row', (row: unknown) => rows.push(row));
      await new Promise((resolve, reject) => submitted.on('end', resolve).on('error', reject));
    });
    await client.end();
    expect(rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const [query] = subs();
    expect(query.sql.sanitized_query).toBe('SELECT generate_series(1, 3) AS n');
    expect(query.end_time).toBeGreaterThanOrEqual(query.start_time);
  });

  it('traces pg-query-stream and pg-cursor until the last row is read', async () => {
    await start();
    const client = new pg.Client(config());
    await client.connect();
    const { streamed, batches } = await recorder.captureSegment('request', async () => {
      const streamed: unknown[] = [];
      for await (const row of client.query(new QueryStream('SELECT generate_series(1, $1::int) AS n', [5], { batchSize: 2 }))) streamed.push(row);
      const cursor = client.query(new Cursor('SELECT generate_series(1, 4) AS m'));
      const batches = [await cursor.read(3), await cursor.read(3), await cursor.read(3)];
      await cursor.close();
      return { streamed, batches };
    });
    await client.end();
    expect(streamed).toHaveLength(5);
    expect(batches.map((b) => b.length)).toEqual([3, 1, 0]);
    const queries = subs().filter((s) => s.sql?.sanitized_query !== undefined);
    expect(queries.map((s) => [s.sql.sanitized_query, s.sql.preparation])).toEqual([
      ['SELECT generate_series(1, $1::int) AS n', 'statement'],
      ['SELECT generate_series(1, 4) AS m', 'call'],
    ]);
    for (const q of queries) expect(q.end_time).toBeGreaterThanOrEqual(q.start_time);
  });

  it('shows taking a client from an empty pool as pg.pool.connect with the connection under it, and nothing for an idle one', async () => {
    await start();
    const pool = new pg.Pool({ ...config(), max: 2 });
    await recorder.captureSegment('request', async () => {
      await pool.query('SELECT 1');
      await pool.query('SELECT 2');
    });
    await pool.end();
    const list = subs();
    const acquire = list.filter((s) => s.name === 'pg.pool.connect');
    expect(acquire).toHaveLength(1);
    expect(acquire[0].namespace).toBe('local');
    const connect = list.find((s) => s.metadata?.sql?.operation === 'connect')!;
    expect(connect.parentId).toBe(acquire[0].id);
    expect(list.filter((s) => s.sql?.sanitized_query !== undefined).map((s) => s.sql.sanitized_query)).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('nests a query under the subsegment it runs in, and makes Promise.all queries siblings', async () => {
    await start();
    const pool = new pg.Pool({ ...config(), max: 4 });
    await pool.query('SELECT 0'); // outside any trace: not recorded
    await recorder.captureSegment('request', async (segment) => {
      await recorder.capture('loadAccount', () => pool.query('SELECT 1 AS inside'));
      await Promise.all([pool.query('SELECT 2 AS a'), pool.query('SELECT 3 AS b')]);
      expect(recorder.currentEntity()).toBe(segment);
    });
    await pool.end();
    const list = subs();
    const segmentId = (emitter.documents[0] as Doc).id;
    const work = list.find((s) => s.name === 'loadAccount')!;
    const byQuery = (q: string): Doc & { parentId: string } => list.find((s) => s.sql?.sanitized_query === q)!;
    expect(byQuery('SELECT 1 AS inside').parentId).toBe(work.id);
    expect(byQuery('SELECT 2 AS a').parentId).toBe(segmentId);
    expect(byQuery('SELECT 3 AS b').parentId).toBe(segmentId);
    expect(list.some((s) => s.sql?.sanitized_query === 'SELECT 0')).toBe(false);
  });

  it('records a syntax error, a constraint violation and a bad parameter as faults with the code, the same error reaching the caller, and no parameter value', async () => {
    const untraced = new pg.Client(config());
    await untraced.connect();
    const bare = (await untraced.query('SELEC 1').catch((e: unknown) => e)) as pg.DatabaseError;
    await untraced.end();

    await start();
    const client = new pg.Client(config());
    await client.connect();
    const errors = await recorder.captureSegment('request', async () => {
      const syntax = await client.query('SELEC 1').then(() => undefined, (e: unknown) => e as pg.DatabaseError);
      await client.query('INSERT INTO accounts (email, secret) VALUES ($1, $2)', [SECRETS[3], SECRETS[1]]);
      const duplicate = await client.query('INSERT INTO accounts (email, secret) VALUES ($1, $2)', [SECRETS[3], SECRETS[1]]).then(() => undefined, (e: unknown) => e as pg.DatabaseError);
      const badValue = await client.query('SELECT $1::int', [SECRETS[2]]).then(() => undefined, (e: unknown) => e as pg.DatabaseError);
      return { syntax: syntax!, duplicate: duplicate!, badValue: badValue! };
    });
    await client.end();
    expect(errors.syntax).toBeInstanceOf(pg.DatabaseError);
    expect([errors.syntax.code, errors.syntax.message, errors.syntax.position]).toEqual([bare.code, bare.message, bare.position]);
    expect(errors.duplicate.code).toBe('23505');
    // The server quotes the value it could not read: the caller still gets it, the trace does not.
    expect(errors.badValue.message).toContain(SECRETS[2]);
    const failed = subs().filter((s) => s.fault === true);
    expect(failed.map((s) => s.cause.exceptions[0].message)).toEqual([
      '42601: syntax error at or near "SELEC"',
      '23505: duplicate key value violates unique constraint "accounts_email_key"',
      '22P02: invalid input syntax for type integer: "?"',
    ]);
    for (const sub of failed) expect(sub.cause.exceptions[0].remote).toBe(true);
    expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    await recorder.captureSegment('cleanup', async () => undefined);
  });

  it('records a refused connection as a fault of the connect subsegment, with the same error for the caller', async () => {
    await start();
    const client = new pg.Client({ ...config(), port: 1 });
    const error = await recorder.captureSegment('request', () => client.connect().then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException));
    expect(error?.code).toBe('ECONNREFUSED');
    const [connect] = subs();
    expect(connect).toMatchObject({ name: 'postgres@127.0.0.1', fault: true, metadata: { sql: { operation: 'connect' } } });
    expect(connect.cause.exceptions[0].message).toMatch(/^ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:1/);
    expect(connect.cause.exceptions[0].remote).toBe(false);
  });

  it('records no sanitized_query with STREAM_SQL off, and nothing at all for an unsampled request', async () => {
    await start({ STREAM_SQL: false });
    const pool = new pg.Pool(config());
    await recorder.captureSegment('request', () => pool.query('SELECT 1'));
    await recorder.captureSegment('unsampled', () => pool.query('SELECT 2'), { sampled: false });
    await pool.end();
    const list = subs();
    expect(list.filter((s) => s.sql !== undefined)).toHaveLength(2); // the connection and the query
    for (const sub of list) expect(sub.sql?.sanitized_query).toBeUndefined();
    expect(emitter.documents.map((d) => (d as Doc).name)).toEqual(['request']);
  });

  it('records one subsegment per statement of a knex query, not a second copy', async () => {
    await start();
    const knex = knexFactory({ client: 'pg', connection: config() as object, pool: { min: 0, max: 1 } });
    const found = await recorder.captureSegment('request', () => knex('accounts').select('email').where({ secret: SECRETS[1] }));
    await knex.destroy();
    expect(found).toEqual([{ email: SECRETS[3] }]);
    // knex asks for the server version on a new connection: a statement of its own, recorded as such.
    const queries = subs().filter((s) => s.sql?.sanitized_query !== undefined);
    expect(queries.map((s) => s.sql.sanitized_query)).toEqual(['select version();', 'select "email" from "accounts" where "secret" = $1']);
    expect(queries[1].sql.preparation).toBe('statement');
  });

  it('takes the hooks out when the last recorder shuts down', async () => {
    await start();
    expect(instrumentations.holdersOf('pg')).toBe(1);
    const patched = pg.Client.prototype.query;
    await recorder.shutdown();
    expect(instrumentations.holdersOf('pg')).toBe(0);
    expect(pg.Client.prototype.query).not.toBe(patched);
  });

  it('leaves no parameter value in any document of the suite', () => {
    expect(all.length).toBeGreaterThan(5);
    expect(leakedValues(all, SECRETS)).toEqual([]);
    for (const doc of all) expect(validateSegmentDocument(doc).errors).toBeNull();
  });
});
