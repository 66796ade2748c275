import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

import { externalService, leakedValues } from '../../../packages/core/test/support/services.js';
import { TestDaemon } from '../../../packages/core/test/support/udp-daemon.js';
import { createDemoApp, type DemoAdapter } from '../src/app.factory.js';
import { request, rootOf } from './http-client.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Sub = Doc & { parentId: string };

// Values the demo passes as query parameters (fixtures, archive rows): never in a document.
const PARAMETER_VALUES = ['grace', 'linus', 'monitor', 'typewriter', 'inkwell', 'floppy disk'];
const mysqlService = await externalService('MariaDB/MySQL (the demo\u2019s /archive route)', 'MYSQL', 3306);
const redisService = await externalService('Redis (the demo\u2019s order cache)', 'REDIS', 6379);

describe.each<DemoAdapter>(['express', 'fastify'])('the demo\u2019s data and templates on %s, over real UDP', (adapter) => {
  let daemon: TestDaemon;
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    daemon = await TestDaemon.start();
    process.env.AWS_XRAY_DAEMON_ADDRESS = daemon.address;
    // This process's own cache keys: the Nest 11 and Nest 12 runs share one Redis.
    process.env.DEMO_CACHE_PREFIX = `xrayjs-demo-e2e-${process.pid}-${adapter}:`;
    process.env.DEMO_MYSQL_URL = `mysql://${process.env.MYSQL_USER ?? 'root'}${process.env.MYSQL_PASSWORD ? `:${process.env.MYSQL_PASSWORD}` : ''}@${mysqlService.host}:${mysqlService.port}/${process.env.MYSQL_DATABASE ?? 'test'}`;
    process.env.DEMO_REDIS_URL = `redis://${redisService.host}:${redisService.port}`;
    app = await createDemoApp(adapter, { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });
  afterEach(() => expect(daemon.faults).toEqual([]));
  afterAll(async () => {
    await app.close();
    await daemon.close();
    delete process.env.AWS_XRAY_DAEMON_ADDRESS;
  });

  const docs = (): Doc[] => daemon.docs() as Doc[];

  /** The request's segment (once it arrived) and every subsegment of its trace, nested or streamed. */
  async function traced(path: string, method = 'GET'): Promise<{ status: number; body: string; segment: Doc; subs: Sub[] }> {
    const reply = await request(port, path, {}, method);
    const root = rootOf(reply);
    let segment: Doc | undefined;
    for (let i = 0; i < 100 && segment === undefined; i++) {
      segment = docs().find((d) => d.trace_id === root && d.type === undefined);
      if (segment === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    if (segment === undefined) throw new Error(`no segment for ${path}`);
    const subs: Sub[] = [];
    const walk = (entity: Doc): void => {
      for (const sub of (entity.subsegments as Doc[] | undefined) ?? []) {
        subs.push({ ...sub, parentId: entity.id });
        walk(sub);
      }
    };
    for (const d of docs().filter((x) => x.trace_id === root)) {
      if (d.type === 'subsegment') subs.push({ ...d, parentId: d.parent_id });
      walk(d);
    }
    return { status: reply.status, body: reply.body, segment, subs };
  }

  const sqlOf = (subs: Sub[]): Sub[] => subs.filter((s) => s.sql?.sanitized_query !== undefined);

  it('nests the TypeORM query of /orders/1 under the @Subsegment method that runs it', async () => {
    const { status, body, segment, subs } = await traced('/orders/1');
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ id: '1', item: 'keyboard', quantity: 2, customer: 'ada' });
    const find = subs.find((s) => s.name === 'OrdersService.find')!;
    expect(find.parentId).toBe(segment.id);
    const [query] = sqlOf(subs);
    expect(query).toMatchObject({
      name: expect.stringMatching(/^postgres@127\.0\.0\.1$/),
      namespace: 'remote',
      parentId: find.id,
      sql: { database_type: 'PostgreSQL', preparation: 'statement', driver_version: expect.stringMatching(/^node-postgres /), user: 'postgres' },
    });
    expect(query.sql.sanitized_query).toMatch(/^SELECT .* FROM "orders" .*WHERE .*"id" = \$1/);
    expect(query.sql.url).not.toContain('demo@'); // the password of the database URL
  });

  it('makes the two queries of Promise.all siblings under the request', async () => {
    const { body, segment, subs } = await traced('/stats');
    expect(JSON.parse(body)).toEqual({ orders: 3, quantity: 7 });
    const queries = sqlOf(subs);
    expect(queries.map((q) => q.sql.sanitized_query.split(' ')[0])).toEqual(['SELECT', 'SELECT']);
    for (const q of queries) expect(q.parentId).toBe(segment.id);
  });

  (redisService.missing === undefined ? it : it.skip)('reads through the Redis cache: a pipeline to forget, then GET, SQL and SET on a miss, and GET alone on a hit', async () => {
    const forget = await traced('/orders/cached', 'DELETE');
    expect(forget.subs.map((s) => [s.name, s.metadata?.redis])).toEqual([[`redis@${redisService.host}`, { operation: 'PIPELINE', command_count: 3, database: 0 }]]);
    const miss = await traced('/orders/3/cached');
    expect(JSON.parse(miss.body)).toMatchObject({ cached: false, order: { id: '3' } });
    const method = miss.subs.find((s) => s.name === 'OrdersService.findCached')!;
    const under = miss.subs.filter((s) => s.parentId === method.id);
    expect(under.map((s) => s.metadata?.redis?.command ?? (s.sql ? 'SQL' : s.name))).toEqual(['GET', 'SQL', 'SET']);
    for (const s of under.filter((x) => x.metadata?.redis)) expect([s.name, s.namespace, s.metadata.redis.key_count]).toEqual([`redis@${redisService.host}`, 'remote', 1]);
    const hit = await traced('/orders/3/cached');
    expect(JSON.parse(hit.body)).toMatchObject({ cached: true, order: { id: '3', item: 'monitor' } });
    expect(hit.subs.filter((s) => s.metadata?.redis).map((s) => s.metadata.redis.command)).toEqual(['GET']);
    expect(sqlOf(hit.subs)).toEqual([]);
  });

  it('renders /orders/1/page through the template engine as a local subsegment named after the template', async () => {
    const { status, body, segment, subs } = await traced('/orders/1/page');
    expect(status).toBe(200);
    expect(body).toContain('<h1>Order 1</h1>');
    const template = subs.find((s) => s.name === 'order.hbs')!;
    expect(template).toMatchObject({ namespace: 'local', parentId: segment.id, metadata: { template: { name: 'order.hbs' } } });
    expect(template.fault).toBeUndefined();
    // The handler's query came first, under its method; the render after it, beside it.
    const find = subs.find((s) => s.name === 'OrdersService.find')!;
    expect(find.end_time).toBeLessThanOrEqual(template.start_time);
    expect(sqlOf(subs)[0].parentId).toBe(find.id);
  });

  it('names each Prisma operation of /reports/big-orders after its model and action, with pg\u2019s SQL beneath it', async () => {
    const { body, segment, subs } = await traced('/reports/big-orders');
    expect(JSON.parse(body)).toEqual({ orders: [{ id: '3', item: 'monitor', quantity: 4 }, { id: '1', item: 'keyboard', quantity: 2 }], totalQuantity: 7 });
    const operations = subs.filter((s) => s.name.startsWith('prisma:'));
    expect(operations.map((s) => s.name).sort()).toEqual(['prisma:Order.aggregate', 'prisma:Order.findMany']);
    for (const op of operations) {
      expect(op.parentId).toBe(segment.id);
      const descendants = (id: string): Sub[] => subs.filter((s) => s.parentId === id).flatMap((s) => [s, ...descendants(s.id)]);
      expect(sqlOf(descendants(op.id)).length).toBeGreaterThanOrEqual(1);
    }
  });

  (mysqlService.missing === undefined ? it : it.skip)('reads the /archive from MySQL/MariaDB through mysql2, the statement with its placeholder', async () => {
    const { status, body, subs } = await traced('/archive');
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual([{ id: 101, item: 'typewriter', quantity: 3 }, { id: 103, item: 'floppy disk', quantity: 7 }]);
    const method = subs.find((s) => s.name === 'LegacyOrdersService.larger')!;
    const [query] = sqlOf(subs);
    expect(query).toMatchObject({
      parentId: method.id,
      namespace: 'remote',
      sql: { database_type: expect.stringMatching(/^(MariaDB|MySQL)$/), preparation: 'statement', sanitized_query: 'SELECT id, item, quantity FROM xrayjs_demo_archive WHERE quantity > ? ORDER BY id' },
    });
  });

  it('traces the start-up SQL under the seed segment', () => {
    const seed = docs().find((d) => d.name === 'demo-seed')!;
    const fixtures = seed.subsegments[0];
    expect(fixtures.name).toBe('load-fixtures');
    expect(sqlOf((fixtures.subsegments as Sub[]) ?? []).map((s) => s.sql.sanitized_query.split(' ')[0])).toEqual(expect.arrayContaining(['CREATE', 'INSERT']));
  });

  it('leaves no parameter value in any document, and every document is schema-valid', () => {
    expect(docs().length).toBeGreaterThan(5);
    expect(leakedValues(docs(), PARAMETER_VALUES)).toEqual([]);
    expect(daemon.broken).toEqual([]);
    for (const r of daemon.received) expect(r.errors).toBeNull();
  });
});
