import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';

import { TestDaemon } from '../../../packages/core/test/support/udp-daemon.js';
import { createDemoApp, type DemoAdapter } from '../src/app.factory.js';
import { createCatalogApp } from '../src/catalog/catalog.factory.js';
import { startLocalAws, type LocalAws } from '../src/catalog/local-aws.js';
import { abandon, request, rootOf, type Reply } from './http-client.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NEST_DIR = process.env.XRAYJS_NEST_DIR ?? fileURLToPath(new URL('../../../node_modules/@nestjs', import.meta.url));
const NEST_MAJOR = process.env.XRAYJS_NEST_MAJOR ?? '12';

it(`runs on NestJS ${NEST_MAJOR}`, async () => {
  const loaded = await import('@nestjs/core');
  const direct = (await import(join(NEST_DIR, 'core/index.js'))) as typeof loaded;
  const { version } = JSON.parse(readFileSync(join(NEST_DIR, 'core/package.json'), 'utf8')) as { version: string };
  expect(loaded.NestFactory).toBe(direct.NestFactory);
  expect(version.split('.')[0]).toBe(NEST_MAJOR);
});

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const PARENT = '53995c3f42cd8ad8';

describe.each<DemoAdapter>(['express', 'fastify'])('demo app on %s, over real UDP', (adapter) => {
  let daemon: TestDaemon;
  let app: INestApplication;
  let catalog: INestApplication;
  let localAws: LocalAws;
  let port: number;

  beforeAll(async () => {
    daemon = await TestDaemon.start();
    process.env.AWS_XRAY_DAEMON_ADDRESS = daemon.address;
    // The second service, with local DynamoDB and S3, in this process: its own application, its own recorder.
    localAws = await startLocalAws();
    process.env.CATALOG_DYNAMODB_ENDPOINT = localAws.dynamodbEndpoint;
    process.env.CATALOG_S3_ENDPOINT = localAws.s3Endpoint;
    catalog = await createCatalogApp(adapter, { logger: false });
    await catalog.listen(0, '127.0.0.1');
    process.env.CATALOG_URL = `http://127.0.0.1:${(catalog.getHttpServer().address() as { port: number }).port}`;
    app = await createDemoApp(adapter, { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });

  // Every document of every test, also those a test clears away, is valid against AWS's schema.
  afterEach(() => expect(daemon.faults).toEqual([]));

  afterAll(async () => {
    await app.close();
    await catalog.close();
    await localAws.stop();
    await daemon.close();
    delete process.env.AWS_XRAY_DAEMON_ADDRESS;
  });

  const docs = (): Doc[] => daemon.docs() as Doc[];

  async function segmentOf(traceId: string): Promise<Doc> {
    for (let i = 0; i < 100; i++) {
      const doc = docs().find((d) => d.trace_id === traceId && d.type === undefined && d.name !== 'xrayjs-catalog');
      if (doc) return doc;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no segment for ${traceId}`);
  }

  async function traced(path: string, headers: Record<string, string> = {}): Promise<{ reply: Reply; segment: Doc }> {
    const reply = await request(port, path, headers);
    return { reply, segment: await segmentOf(rootOf(reply)) };
  }

  it('should trace a call to the catalog service across both services, down to DynamoDB and S3', async () => {
    const { reply, segment } = await traced('/products/keyboard');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ product: { sku: 'keyboard', price: 49, description: 'Mechanical keyboard: the description.' }, alsoFetched: true });
    const method = segment.subsegments.find((s: Doc) => s.name === 'ProductsService.product');
    // Both calls (axios through node:http, then fetch) nest under the method, carry the trace, and the
    // callee answered with it (traced: true).
    const calls = method.subsegments as Doc[];
    expect(calls.map((c) => [c.name, c.namespace, c.http.request.method, c.http.response.status, c.http.request.traced])).toEqual([
      ['127.0.0.1', 'remote', 'GET', 200, true],
      ['127.0.0.1', 'remote', 'GET', 200, true],
    ]);
    // The catalog continued the trace: one segment per call, each the child of the call's subsegment.
    const catalogSegments: Doc[] = [];
    for (let i = 0; i < 100 && catalogSegments.length < 2; i++) {
      catalogSegments.splice(0, catalogSegments.length, ...docs().filter((d) => d.name === 'xrayjs-catalog' && d.trace_id === segment.trace_id));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(catalogSegments.map((d) => d.parent_id).sort()).toEqual(calls.map((c) => c.id).sort());
    for (const callee of catalogSegments) {
      const [product] = callee.subsegments as Doc[];
      expect(product.name).toBe('CatalogService.product');
      const [dynamo, s3] = product.subsegments as Doc[];
      expect([dynamo.name, dynamo.namespace, dynamo.aws.operation, dynamo.aws.table_name]).toEqual(['DynamoDB', 'aws', 'GetItem', 'products']);
      expect([s3.name, s3.namespace, s3.aws.operation, s3.aws.bucket_name, s3.aws.key]).toEqual(['S3', 'aws', 'GetObject', 'descriptions', 'keyboard.txt']);
      // Started together: siblings that overlap, and no HTTP subsegment of the SDK's own requests.
      expect(Math.max(dynamo.start_time, s3.start_time)).toBeLessThan(Math.min(dynamo.end_time, s3.end_time));
      expect(dynamo.subsegments ?? s3.subsegments).toBeUndefined();
    }
  });

  it('should record a 404 of the catalog as an error of the call, and the answer as the demo gives it', async () => {
    const { reply, segment } = await traced('/products/nothing');
    expect(reply.status).toBe(404);
    const call = segment.subsegments.find((s: Doc) => s.name === 'ProductsService.product').subsegments[0];
    expect(call).toMatchObject({ namespace: 'remote', error: true, http: { response: { status: 404 } } });
    expect(segment).toMatchObject({ error: true, http: { response: { status: 404 } } });
  });

  it('should validate every document received against AWS schema', async () => {
    await request(port, '/orders/1');
    await daemon.settle(50);
    expect(daemon.received.length).toBeGreaterThan(0);
    expect(daemon.broken).toEqual([]);
    for (const r of daemon.received) expect({ id: r.doc.id, errors: r.errors }).toEqual({ id: r.doc.id, errors: null });
  });

  it('should trace start-up work wrapped in its own segment', async () => {
    await daemon.waitFor(1);
    const seed = docs().find((d) => d.name === 'demo-seed');
    expect(seed).toMatchObject({ subsegments: [{ name: 'load-fixtures', annotations: { fixtures: 3 } }] });
  });

  it('should record the http block, route annotations and the subsegment of a 200', async () => {
    const { reply, segment } = await traced('/orders/1', { 'user-agent': 'e2e-agent/1.0', 'x-forwarded-for': '203.0.113.7, 10.0.0.1' });
    expect(reply.status).toBe(200);
    expect(segment).toMatchObject({
      name: 'xrayjs-demo',
      in_progress: false,
      http: {
        request: { method: 'GET', url: `http://127.0.0.1:${port}/orders/1`, client_ip: '203.0.113.7', x_forwarded_for: true, user_agent: 'e2e-agent/1.0' },
        response: { status: 200, content_length: Buffer.byteLength(reply.body) },
      },
      annotations: { order_id: '1', http_route: '/orders/:id', nest_controller: 'AppController', nest_handler: 'find' },
      subsegments: [{ name: 'OrdersService.find', namespace: 'local', in_progress: false }],
    });
    expect(segment.end_time).toBeGreaterThan(segment.start_time);
    for (const flag of ['fault', 'error', 'throttle']) expect(segment).not.toHaveProperty(flag);
  });

  it('should take the client ip from the socket without X-Forwarded-For', async () => {
    const { segment } = await traced('/orders/2');
    expect(segment.http.request.client_ip).toMatch(/127\.0\.0\.1/);
    expect(segment.http.request).not.toHaveProperty('x_forwarded_for');
  });

  it('should make a 404 an error, not a fault, with the exception recorded', async () => {
    const { reply, segment } = await traced('/orders/42');
    expect(reply.status).toBe(404);
    expect(segment.error).toBe(true);
    expect(segment).not.toHaveProperty('fault');
    const sub = segment.subsegments[0];
    expect(sub).toMatchObject({ name: 'OrdersService.find', error: true, cause: { exceptions: [{ type: 'NotFoundException', message: 'order 42 not found' }] } });
    expect(sub).not.toHaveProperty('fault');
    // The segment references the exception its subsegment recorded.
    expect(segment.cause).toBe(sub.cause.exceptions[0].id);
  });

  it('should record an unknown route (404 from the router)', async () => {
    const { reply, segment } = await traced('/no/such/route');
    expect(reply.status).toBe(404);
    expect(segment).toMatchObject({ error: true, http: { response: { status: 404 } }, cause: { exceptions: [{ type: 'NotFoundException' }] } });
  });

  it('should make a thrown error a fault with its stack', async () => {
    const { reply, segment } = await traced('/boom');
    expect(reply.status).toBe(500);
    expect(segment.fault).toBe(true);
    expect(segment.http.response.status).toBe(500);
    const sub = segment.subsegments.find((s: Doc) => s.name === 'AppController.boom');
    const ex = sub.cause.exceptions[0];
    expect(ex).toMatchObject({ type: 'DemoError', message: 'kaboom', remote: false });
    expect(ex.stack[0].path).toMatch(/app\.controller\.ts$/);
    expect(ex.stack[0].label).toMatch(/boom/);
    expect(segment.cause).toBe(ex.id);
  });

  it('should flag a 429 as throttle and error', async () => {
    const { reply, segment } = await traced('/limited');
    expect(reply.status).toBe(429);
    expect(segment).toMatchObject({ throttle: true, error: true, cause: { exceptions: [{ type: 'HttpException', message: 'slow down' }] } });
    expect(segment).not.toHaveProperty('fault');
  });

  it('should record a guard rejection', async () => {
    const { reply, segment } = await traced('/admin');
    expect(reply.status).toBe(403);
    expect(segment).toMatchObject({ error: true, http: { response: { status: 403 } }, cause: { exceptions: [{ type: 'ForbiddenException' }] } });
    // The route annotations are set before the guards run (an interceptor would only run after them).
    expect(segment.annotations).toMatchObject({ http_route: '/admin', nest_controller: 'AppController', nest_handler: 'admin' });
    const ok = await traced('/admin', { 'x-demo-admin': 'yes' });
    expect(ok.reply.status).toBe(200);
    expect(ok.segment).not.toHaveProperty('error');
  });

  it('should continue the caller trace and answer with its Root', async () => {
    const { reply, segment } = await traced('/orders/3', { 'x-amzn-trace-id': `Root=${ROOT};Parent=${PARENT};Sampled=1` });
    expect(reply.headers['x-amzn-trace-id']).toBe(`Root=${ROOT}`);
    expect(segment).toMatchObject({ trace_id: ROOT, parent_id: PARENT });
    daemon.clear();
  });

  it('should answer Sampled=? with the decision, and send nothing for Sampled=0', async () => {
    const asked = await request(port, '/orders/1', { 'x-amzn-trace-id': `Root=1-5759e988-bd862e3fe1be46a994272794;Sampled=?` });
    expect(asked.headers['x-amzn-trace-id']).toBe('Root=1-5759e988-bd862e3fe1be46a994272794;Sampled=1');
    const unsampled = await request(port, '/orders/1', { 'x-amzn-trace-id': `Root=1-5759e988-bd862e3fe1be46a994272795;Parent=${PARENT};Sampled=0` });
    expect(unsampled.status).toBe(200);
    expect(unsampled.headers['x-amzn-trace-id']).toBe('Root=1-5759e988-bd862e3fe1be46a994272795');
    await daemon.settle(100);
    expect(docs().some((d) => d.trace_id === '1-5759e988-bd862e3fe1be46a994272795')).toBe(false);
  });

  it('should name by a matching Host and fall back for a forged one', async () => {
    const matching = await traced('/orders/1', { host: 'shop.example.com' });
    expect(matching.segment.name).toBe('shop.example.com');
    expect(matching.segment.http.request.url).toBe('http://shop.example.com/orders/1');
    const forged = await traced('/orders/1', { host: 'evil.example.org' });
    expect(forged.segment.name).toBe('xrayjs-demo');
  });

  it('should keep sequential calls as ordered siblings and concurrent calls as overlapping siblings', async () => {
    const summary = await traced('/summary');
    expect(summary.segment.subsegments.map((s: Doc) => s.name)).toEqual(['OrdersService.count', 'InventoryService.stockOf']);
    const prices = await traced('/prices');
    expect(prices.reply.body).toBe('[49,19,199]');
    const subs = prices.segment.subsegments;
    expect(subs.map((s: Doc) => s.name)).toEqual(['InventoryService.priceOf', 'InventoryService.priceOf', 'InventoryService.priceOf']);
    for (const s of subs) expect(s).not.toHaveProperty('subsegments');
    // Siblings overlap in time: they ran together.
    expect(Math.max(...subs.map((s: Doc) => s.start_time))).toBeLessThan(Math.min(...subs.map((s: Doc) => s.end_time)));
  });

  it('should span an Observable handler from subscription to completion', async () => {
    const { reply, segment } = await traced('/orders/1/watch');
    expect(reply.status).toBe(200);
    const watch = segment.subsegments.find((s: Doc) => s.name === 'OrdersService.watch');
    expect(watch).toMatchObject({ in_progress: false });
    expect(watch.end_time - watch.start_time).toBeGreaterThanOrEqual(0.004);
  });

  it('should not trace an excluded route but still answer with a trace id', async () => {
    daemon.clear();
    const reply = await request(port, '/health', { 'x-amzn-trace-id': `Root=${ROOT};Parent=${PARENT};Sampled=1` });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-amzn-trace-id']).toBe(`Root=${ROOT}`);
    // A caller that lets the callee decide hears that the excluded route was not sampled.
    const asked = await request(port, '/health', { 'x-amzn-trace-id': `Root=${ROOT};Sampled=?` });
    expect(asked.headers['x-amzn-trace-id']).toBe(`Root=${ROOT};Sampled=0`);
    await daemon.settle(100);
    expect(docs().filter((d) => String(d.http?.request?.url).endsWith('/health'))).toEqual([]);
  });

  it('should run Nest middleware inside the segment', async () => {
    const { segment } = await traced('/orders/1', { 'x-tenant': 'acme' });
    expect(segment.annotations.tenant).toBe('acme');
  });

  it('should record a request the body parser rejects', async () => {
    const reply = await request(port, '/orders', { 'content-type': 'application/json' }, 'POST', '{"item": ');
    expect(reply.status).toBe(400);
    const segment = await segmentOf(rootOf(reply));
    expect(segment).toMatchObject({ error: true, http: { request: { method: 'POST' }, response: { status: 400 } } });
    expect(segment.cause.exceptions.length).toBeGreaterThan(0);
    const ok = await request(port, '/orders', { 'content-type': 'application/json' }, 'POST', '{"item":"pen"}');
    expect(ok.status).toBe(201);
    expect((await segmentOf(rootOf(ok))).http.response.status).toBe(201);
  });

  it('should close the segment once when the client goes away', async () => {
    daemon.clear();
    await abandon(port, '/slow', 50);
    await new Promise((r) => setTimeout(r, 400));
    await daemon.settle(50);
    const slow = docs().filter((d) => String(d.http?.request?.url).endsWith('/slow'));
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ in_progress: false, annotations: { client_aborted: true } });
  });

  it('should keep 200 concurrent requests apart', async () => {
    daemon.clear();
    const ids = Array.from({ length: 200 }, (_, i) => String((i % 3) + 1));
    const replies = await Promise.all(ids.map((id) => request(port, `/orders/${id}`)));
    const roots = replies.map(rootOf);
    expect(new Set(roots).size).toBe(200);
    await daemon.waitFor(200, 10_000);
    const byTrace = new Map(docs().map((d) => [d.trace_id, d]));
    roots.forEach((root, i) => {
      const seg = byTrace.get(root)!;
      expect(seg).toBeDefined();
      expect(seg.annotations.order_id).toBe(ids[i]);
      expect(seg.http.request.url).toMatch(new RegExp(`/orders/${ids[i]}$`));
      expect(seg.subsegments.map((s: Doc) => s.name)).toEqual(['OrdersService.find']);
    });
    expect(daemon.received.every((r) => r.valid)).toBe(true);
  });
});
