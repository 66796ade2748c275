import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import mysql, { type Connection, type QueryError, type RowDataPacket } from 'mysql2';
import mysqlPromise from 'mysql2/promise';

import { diag } from '../../src/diag.js';
import { InMemoryEmitter, Recorder } from '../../src/index.js';
import { validateSegmentDocument } from '../support/conformance.js';
import { subsegmentsOf } from '../support/documents.js';
import { externalService, leakedValues } from '../support/services.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SECRETS = ['s3cret-value-4711', 'hunter2-password', 'bob@example.org', 'x-named-9931'];
const service = await externalService('MariaDB/MySQL', 'MYSQL', 3306);
const user = process.env.MYSQL_USER ?? 'root';
const password = process.env.MYSQL_PASSWORD ?? '';
const database = process.env.MYSQL_DATABASE ?? 'test';
const table = `xrayjs_accounts_${process.pid}`;

(service.missing === undefined ? describe : describe.skip)('mysql2, against MariaDB/MySQL', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;
  const all: Doc[] = [];
  const options = (): mysql.ConnectionOptions => ({ host: service.host, port: service.port, user, password, database });

  beforeAll(async () => {
    const conn = await mysqlPromise.createConnection(options());
    await conn.query(`CREATE TABLE IF NOT EXISTS ${table} (id int AUTO_INCREMENT PRIMARY KEY, email varchar(200) UNIQUE NOT NULL, secret text)`);
    await conn.end();
  });
  afterAll(async () => {
    const conn = await mysqlPromise.createConnection(options());
    await conn.query(`DROP TABLE IF EXISTS ${table}`);
    await conn.end();
  });

  async function start(extra: Record<string, unknown> = {}): Promise<void> {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'mysql-caller', EMITTER: emitter, SAMPLING: false, LOGGER: false, ...extra });
    await recorder.ready();
  }
  afterEach(async () => {
    all.push(...(emitter?.documents ?? []));
    await recorder?.shutdown();
    diag.reset();
  });
  const subs = (): (Doc & { parentId: string })[] => subsegmentsOf(emitter.documents as Doc[]);
  const queries = (): (Doc & { parentId: string })[] => subs().filter((s) => s.sql?.preparation !== undefined);

  it('records query and execute as remote subsegments with the statement as written, never the values in it', async () => {
    await start();
    const conn = await recorder.captureSegment('request', async () => {
      const c = await mysqlPromise.createConnection(options());
      const [rows] = await c.query<RowDataPacket[]>('SELECT ? AS v', [SECRETS[0]]);
      const [executed] = await c.execute<RowDataPacket[]>('SELECT ? AS w', [SECRETS[1]]);
      await c.query('SELECT 1 AS plain');
      return { c, rows, executed };
    });
    await conn.c.end();
    expect(conn.rows[0].v).toBe(SECRETS[0]);
    expect(conn.executed[0].w).toBe(SECRETS[1]);
    const connect = subs().find((s) => s.metadata?.sql?.operation === 'connect')!;
    expect(connect).toMatchObject({ name: `${database}@${service.host}`, namespace: 'remote' });
    const [query, execute, plain] = queries();
    expect(query).toMatchObject({
      name: `${database}@${service.host}`,
      namespace: 'remote',
      sql: {
        url: `mysql://${service.host}:${service.port}/${database}`,
        database_type: expect.stringMatching(/^(MariaDB|MySQL)$/),
        database_version: expect.stringMatching(/^\d+\.\d+/),
        driver_version: expect.stringMatching(/^mysql2 3\.\d+\.\d+$/),
        user,
        preparation: 'statement',
        sanitized_query: 'SELECT ? AS v',
      },
    });
    expect(execute.sql).toMatchObject({ preparation: 'statement', sanitized_query: 'SELECT ? AS w' });
    expect(plain.sql).toMatchObject({ preparation: 'call', sanitized_query: 'SELECT 1 AS plain' });
    expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    for (const doc of emitter.documents) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('traces the callback API, running each callback in the caller\u2019s trace, and named placeholders', async () => {
    await start();
    let conn: Connection | undefined;
    const seen = await recorder.captureSegment('request', async (segment) => {
      conn = mysql.createConnection({ ...options(), namedPlaceholders: true });
      const inCallback: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        conn!.query<RowDataPacket[]>('SELECT :name AS n', { name: SECRETS[3] }, (error, rows) => {
          inCallback.push(recorder.currentEntity() === segment, rows?.[0]?.n);
          if (error) reject(error);
          else resolve();
        }),
      );
      return inCallback;
    });
    conn!.end();
    expect(seen).toEqual([true, SECRETS[3]]);
    const [query] = queries();
    // named placeholders become ? before mysql2 sends the statement; the names are what was written
    expect(query.sql.sanitized_query).toBe('SELECT :name AS n');
    expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
  });

  it('shows waiting for a pool connection as mysql2.pool.connect, nests under @Subsegment work, and makes Promise.all siblings', async () => {
    await start();
    const pool = mysqlPromise.createPool({ ...options(), connectionLimit: 3 });
    await recorder.captureSegment('request', async () => {
      await recorder.capture('loadAccount', () => pool.query('SELECT 1 AS inside'));
      await Promise.all([pool.query('SELECT 2 AS a'), pool.execute('SELECT 3 AS b')]);
    });
    await pool.end();
    const list = subs();
    const segmentId = (emitter.documents[0] as Doc).id;
    const work = list.find((s) => s.name === 'loadAccount')!;
    const byText = (q: string): Doc & { parentId: string } => list.find((s) => s.sql?.sanitized_query === q)!;
    expect(byText('SELECT 1 AS inside').parentId).toBe(work.id);
    expect(byText('SELECT 2 AS a').parentId).toBe(segmentId);
    expect(byText('SELECT 3 AS b').parentId).toBe(segmentId);
    const acquires = list.filter((s) => s.name === 'mysql2.pool.connect');
    // one for the first query (empty pool), one for the second of the parallel pair (the first took the free one)
    expect(acquires.length).toBeGreaterThanOrEqual(1);
    for (const acquire of acquires) expect(list.some((s) => s.parentId === acquire.id && s.metadata?.sql?.operation === 'connect')).toBe(true);
  });

  it('records a syntax error and a duplicate key as faults with the code, the caller getting the same error, no value in the trace', async () => {
    const untraced = await mysqlPromise.createConnection(options());
    const bare = (await untraced.query('SELEC 1').catch((e: unknown) => e)) as QueryError;
    await untraced.end();
    await start();
    const conn = await mysqlPromise.createConnection(options());
    const errors = await recorder.captureSegment('request', async () => {
      const syntax = (await conn.query('SELEC 1').catch((e: unknown) => e)) as QueryError;
      await conn.execute(`INSERT INTO ${table} (email, secret) VALUES (?, ?)`, [SECRETS[2], SECRETS[1]]);
      const duplicate = (await conn.execute(`INSERT INTO ${table} (email, secret) VALUES (?, ?)`, [SECRETS[2], SECRETS[1]]).catch((e: unknown) => e)) as QueryError;
      return { syntax, duplicate };
    });
    await conn.end();
    expect([errors.syntax.code, errors.syntax.errno, errors.syntax.message]).toEqual([bare.code, bare.errno, bare.message]);
    expect(errors.duplicate.code).toBe('ER_DUP_ENTRY');
    // the server quotes the duplicate value to the caller; the trace must not
    expect(errors.duplicate.message).toContain(SECRETS[2]);
    const failed = subs().filter((s) => s.fault === true);
    expect(failed).toHaveLength(2);
    expect(failed[0].cause.exceptions[0].message).toMatch(/^ER_PARSE_ERROR: You have an error in your SQL syntax/);
    expect(failed[1].cause.exceptions[0].message).toMatch(/^ER_DUP_ENTRY: Duplicate entry '\?' for key/);
    for (const sub of failed) expect(sub.cause.exceptions[0].remote).toBe(true);
    expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
  });

  it('records a refused connection on the connect subsegment', async () => {
    await start();
    const error = await recorder.captureSegment('request', () => mysqlPromise.createConnection({ ...options(), port: 1 }).then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException));
    expect(error?.code).toBe('ECONNREFUSED');
    const connect = subs().find((s) => s.metadata?.sql?.operation === 'connect')!;
    expect(connect.fault).toBe(true);
    expect(connect.cause.exceptions[0].message).toContain('ECONNREFUSED');
  });

  it('records nothing for an unsampled request, and the query still answers', async () => {
    await start();
    const conn = await mysqlPromise.createConnection(options());
    const [rows] = await recorder.captureSegment('unsampled', () => conn.query<RowDataPacket[]>('SELECT 7 AS seven'), { sampled: false });
    await conn.end();
    expect(rows[0].seven).toBe(7);
    expect(emitter.documents).toHaveLength(0);
  });

  it('leaves no parameter value in any document of the suite, and every document is schema-valid', () => {
    expect(all.length).toBeGreaterThan(3);
    expect(leakedValues(all, SECRETS)).toEqual([]);
    for (const doc of all) expect(validateSegmentDocument(doc).errors).toBeNull();
  });
});
