import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { diag } from '../../src/diag.js';
import { InMemoryEmitter, Recorder } from '../../src/index.js';
import { validateSegmentDocument } from '../support/conformance.js';
import { subsegmentsOf } from '../support/documents.js';
import { leakedValues, startPostgres, type TestPostgres } from '../support/services.js';
// @ts-expect-error a plain .mjs script of the repository, without type declarations
import { generatePrismaClient } from '../../../../scripts/prisma-generate.mjs';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const here = dirname(fileURLToPath(import.meta.url));
const SECRETS = ['carol@example.org', 'Carol Secret-Name', 'dave@example.org'];

// The generated client's types are not known before the suite generates it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClient = any;

describe('Prisma 7 with @prisma/adapter-pg, against an embedded PostgreSQL', () => {
  let db: TestPostgres;
  let PrismaClient: new (options: object) => AnyClient;
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  beforeAll(async () => {
    generatePrismaClient(join(here, '../fixtures/prisma/schema.prisma'));
    ({ PrismaClient } = (await import('../fixtures/prisma/generated/client.js')) as { PrismaClient: typeof PrismaClient });
    db = await startPostgres();
    // The tables come from SQL: Prisma's migration engine is a binary it would download.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE "User" (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text)');
    await client.query('CREATE TABLE "Post" (id serial PRIMARY KEY, title text NOT NULL, "authorId" int NOT NULL REFERENCES "User"(id))');
    await client.query('INSERT INTO "User" (email) VALUES ($1)', [SECRETS[2]]);
    await client.end();
  }, 120_000);
  afterAll(async () => {
    await db?.stop();
  });

  async function start(options: Record<string, unknown> = {}): Promise<void> {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'prisma-caller', EMITTER: emitter, SAMPLING: false, LOGGER: false, ...options });
    await recorder.ready();
  }
  afterEach(async () => {
    await recorder?.shutdown();
    diag.reset();
  });
  const subs = (): (Doc & { parentId: string })[] => subsegmentsOf(emitter.documents as Doc[]);

  it('makes each model operation and raw query a subsegment named after it, with its SQL beneath and no value anywhere', async () => {
    await start();
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
    const result = await recorder.captureSegment('request', async () => {
      const created = await prisma.user.create({ data: { email: SECRETS[0], name: SECRETS[1] } });
      const found = await prisma.user.findMany({ where: { email: SECRETS[0] } });
      const raw = await prisma.$queryRaw`SELECT count(*)::int AS n FROM "User" WHERE email = ${SECRETS[0]}`;
      return { created, found, raw };
    });
    await prisma.$disconnect();
    expect(result.found).toEqual([result.created]);
    expect(result.raw).toEqual([{ n: 1 }]);
    const list = subs();
    const operations = list.filter((s) => s.name.startsWith('prisma:'));
    expect(operations.map((s) => [s.name, s.namespace, s.metadata?.prisma])).toEqual([
      ['prisma:User.create', 'local', { model: 'User', method: 'create' }],
      ['prisma:User.findMany', 'local', { model: 'User', method: 'findMany' }],
      ['prisma:queryRaw', 'local', { method: 'queryRaw' }],
    ]);
    const segmentId = (emitter.documents[0] as Doc).id;
    for (const op of operations) expect(op.parentId).toBe(segmentId);
    // The SQL is the driver's, under the operation that sent it, once.
    for (const op of operations) {
      const sql = list.filter((s) => s.sql?.sanitized_query !== undefined && (s.parentId === op.id || list.some((p) => p.id === s.parentId && p.parentId === op.id)));
      expect(sql.length).toBeGreaterThanOrEqual(1);
      for (const q of sql) expect(q.sql.preparation).toBe('statement');
    }
    const findSql = list.filter((s) => s.sql?.sanitized_query?.includes('"User"."email" = $1'));
    expect(findSql.length).toBeGreaterThanOrEqual(1);
    expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    for (const doc of emitter.documents) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('makes $transaction one subsegment with its operations inside, and records a failed operation with the same error for the caller', async () => {
    await start();
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
    const outcome = await recorder.captureSegment('request', async () => {
      const [count, users] = await prisma.$transaction([prisma.user.count(), prisma.user.findMany({ select: { id: true } })]);
      const duplicate = await prisma.user.create({ data: { email: SECRETS[2] } }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; constructor: { name: string } },
      );
      return { count, users, duplicate };
    });
    await prisma.$disconnect();
    expect(outcome.count).toBeGreaterThanOrEqual(1);
    expect(outcome.users).toHaveLength(outcome.count);
    expect(outcome.duplicate?.code).toBe('P2002');
    const list = subs();
    const tx = list.find((s) => s.name === 'prisma:transaction')!;
    expect(tx).toBeDefined();
    expect(list.filter((s) => s.parentId === tx.id && s.name.startsWith('prisma:')).map((s) => s.name).sort()).toEqual(['prisma:User.count', 'prisma:User.findMany']);
    const failed = list.find((s) => s.name === 'prisma:User.create')!;
    expect(failed.fault).toBe(true);
    expect(failed.cause.exceptions[0].type).toBe(outcome.duplicate!.constructor.name);
    expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
  });

  it('records nothing for an unsampled request, and hands Prisma back its helper state on shutdown', async () => {
    await start();
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
    const count = await prisma.user.count();
    expect(await recorder.captureSegment('unsampled', () => prisma.user.count(), { sampled: false })).toBe(count);
    expect(emitter.documents).toHaveLength(0);
    expect((globalThis as Record<string, unknown>).PRISMA_INSTRUMENTATION).toBeDefined();
    await recorder.shutdown();
    expect((globalThis as Record<string, unknown>).PRISMA_INSTRUMENTATION).toBeUndefined();
    expect(await prisma.user.count()).toBe(count);
    await prisma.$disconnect();
  });
});
