import { execFile } from 'node:child_process';
import http, { type IncomingMessage, type Server } from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import selfsigned from 'selfsigned';
import { request as undiciRequest } from 'undici';

import { diag } from '../../src/diag.js';
import { InMemoryEmitter, Recorder, withoutTracing } from '../../src/index.js';
import { instrumentations } from '../../src/instrumentation/registry.js';
import { validateSegmentDocument } from '../support/conformance.js';

const execFileAsync = promisify(execFile);

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the caller of an HTTP client sees: the value, or the error's class and code, and the events. */
interface Outcome {
  status?: number;
  body?: string;
  error?: { name: string; code?: unknown };
  events: string[];
}

/** The trace header each request arrived with, by path. */
const received = new Map<string, string | undefined>();
/** The traceparent each request arrived with, by path. */
const receivedW3c = new Map<string, string | undefined>();

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  received.set(path, req.headers['x-amzn-trace-id'] as string | undefined);
  receivedW3c.set(path, req.headers.traceparent as string | undefined);
  if (path.startsWith('/hang')) return; // never answers
  if (path.startsWith('/reset')) {
    req.socket.destroy();
    return;
  }
  const status = path.startsWith('/404') ? 404 : path.startsWith('/500') ? 500 : path.startsWith('/429') ? 429 : 200;
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(`status ${status} for ${path}`);
}

let server: Server;
let tlsServer: https.Server;
let base: string;
let tlsBase: string;

function outcomeOfNode(get: () => http.ClientRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const events: string[] = [];
    const req = get();
    req.on('response', (res: IncomingMessage) => {
      events.push('response');
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        events.push('end');
        resolve({ status: res.statusCode, body, events });
      });
    });
    req.on('timeout', () => {
      events.push('timeout');
      req.destroy(Object.assign(new Error('client timeout'), { code: 'ETIMEDOUT_TEST' }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      events.push('error');
      resolve({ error: { name: e.name, code: e.code }, events });
    });
  });
}

async function outcomeOf(fn: () => Promise<{ status: number; body: string }>): Promise<Outcome> {
  try {
    const { status, body } = await fn();
    return { status, body, events: [] };
  } catch (e) {
    const err = e as { name: string; code?: unknown; cause?: { code?: unknown } };
    return { error: { name: err.name, code: err.code ?? err.cause?.code }, events: [] };
  }
}

/** Each client, calling `path` on the plain or the TLS server. */
const CLIENTS: Record<string, (path: string, timeoutMs?: number) => Promise<Outcome>> = {
  'http.get': (path, timeoutMs) => outcomeOfNode(() => http.get(`${base}${path}`, { timeout: timeoutMs })),
  'http.request': (path, timeoutMs) =>
    outcomeOfNode(() => {
      const req = http.request(`${base}${path}`, { method: 'POST', timeout: timeoutMs, headers: { 'content-type': 'text/plain' } });
      req.end('payload');
      return req;
    }),
  'https.get': (path, timeoutMs) => outcomeOfNode(() => https.get(`${tlsBase}${path}`, { rejectUnauthorized: false, timeout: timeoutMs })),
  fetch: (path, timeoutMs) =>
    outcomeOf(async () => {
      const res = await fetch(`${base}${path}`, { signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined });
      return { status: res.status, body: await res.text() };
    }),
  undici: (path, timeoutMs) =>
    outcomeOf(async () => {
      const res = await undiciRequest(`${base}${path}`, { signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined });
      return { status: res.statusCode, body: await res.body.text() };
    }),
  axios: (path, timeoutMs) =>
    outcomeOf(async () => {
      const res = await axios.get<string>(`${base}${path}`, { timeout: timeoutMs, responseType: 'text', transformResponse: (d: string) => d });
      return { status: res.status, body: res.data };
    }),
};

/** The routes, and what the subsegment of a call to each says. */
const ROUTES: { path: string; timeoutMs?: number; flags: Record<string, boolean>; status?: number; error?: RegExp }[] = [
  { path: '/ok', flags: {}, status: 200 },
  { path: '/404', flags: { error: true }, status: 404 },
  { path: '/429', flags: { error: true, throttle: true }, status: 429 },
  { path: '/500', flags: { fault: true }, status: 500 },
  { path: '/hang', timeoutMs: 150, flags: { fault: true }, error: /./ },
  { path: '/reset', flags: { fault: true }, error: /./ },
];

describe('outgoing HTTP, through real servers', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  beforeAll(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048 });
    server = http.createServer(handler);
    tlsServer = https.createServer({ key: pems.private, cert: pems.cert }, handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    tlsBase = `https://127.0.0.1:${(tlsServer.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    tlsServer.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => tlsServer.close(r));
  });

  function start(options: Record<string, unknown> = {}): Promise<void> {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'caller', EMITTER: emitter, SAMPLING: false, LOGGER: false, ...options });
    return recorder.ready();
  }
  afterEach(async () => {
    await recorder?.shutdown();
    diag.reset();
    received.clear();
    receivedW3c.clear();
  });

  const subsegments = (): Doc[] => (emitter.documents.flatMap((d) => (d.type === 'subsegment' ? [d] : ((d.subsegments as Doc[]) ?? []))) as Doc[]);

  it.each(Object.keys(CLIENTS))('%s: each call is a remote subsegment, and the caller sees exactly what it sees untraced', async (client) => {
    const call = CLIENTS[client];
    // Untraced first: no recorder holds the instrumentation, so the hooks are out.
    expect(instrumentations.holdersOf('http') + instrumentations.holdersOf('fetch')).toBe(0);
    const untraced: Outcome[] = [];
    for (const route of ROUTES) untraced.push(await call(route.path, route.timeoutMs));

    await start();
    const traced: Outcome[] = [];
    let traceId = '';
    await recorder.captureSegment('calls', async (segment) => {
      traceId = segment.trace_id;
      for (const route of ROUTES) traced.push(await call(route.path, route.timeoutMs));
    });
    expect(traced).toEqual(untraced);
    await sleep(20);

    const subs = subsegments();
    expect(subs).toHaveLength(ROUTES.length);
    const protocol = client.startsWith('https') ? 'https' : 'http';
    for (const [i, route] of ROUTES.entries()) {
      const sub = subs[i];
      expect(sub).toMatchObject({ name: '127.0.0.1', namespace: 'remote', in_progress: false });
      expect(sub.http.request.url).toMatch(new RegExp(`^${protocol}://127\\.0\\.0\\.1:\\d+${route.path}$`));
      for (const flag of ['fault', 'error', 'throttle']) expect([route.path, flag, sub[flag] === true]).toEqual([route.path, flag, route.flags[flag] === true]);
      if (route.status !== undefined) expect(sub.http.response).toMatchObject({ status: route.status });
      if (route.error) expect(sub.cause.exceptions[0].message).toMatch(route.error);
      // The call carried this subsegment as its parent (except where the server never read it in time).
      if (route.path !== '/reset') expect(received.get(route.path)).toBe(`Root=${traceId};Parent=${sub.id};Sampled=1`);
    }
    for (const doc of emitter.documents) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('records a connection refused as a fault with the error, and the caller gets the same error', async () => {
    // A port where nothing listens (not port 1: fetch refuses the spec's "bad ports" before any request).
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const refused = async (): Promise<Outcome[]> => [
      await outcomeOfNode(() => http.get(`http://127.0.0.1:${freePort}/`)),
      await outcomeOf(async () => {
        const res = await fetch(`http://127.0.0.1:${freePort}/`);
        return { status: res.status, body: await res.text() };
      }),
    ];
    const before = await refused();
    await start();
    const after = await recorder.captureSegment('refused', refused);
    expect(after).toEqual(before);
    expect(before[0].error?.code).toBe('ECONNREFUSED');
    const subs = subsegments();
    expect(subs.map((s) => [s.fault, s.cause.exceptions[0].message])).toEqual([
      [true, expect.stringContaining('ECONNREFUSED')],
      [true, expect.any(String)],
    ]);
  });

  it('nests a call inside a subsegment under it, and makes calls started together siblings', async () => {
    await start();
    await recorder.captureSegment('request', async () => {
      await recorder.capture('OrdersService.load', () => fetch(`${base}/ok`).then((r) => r.text()));
      await Promise.all([fetch(`${base}/ok`).then((r) => r.text()), axios.get(`${base}/ok`), undiciRequest(`${base}/ok`).then((r) => r.body.text())]);
    });
    await sleep(20);
    const segment = emitter.documents.find((d) => d.type === undefined) as Doc;
    expect(segment.subsegments.map((s: Doc) => [s.name, (s.subsegments ?? []).map((c: Doc) => c.namespace)])).toEqual([
      ['OrdersService.load', ['remote']],
      ['127.0.0.1', []],
      ['127.0.0.1', []],
      ['127.0.0.1', []],
    ]);
    const [, a, b, c] = segment.subsegments as Doc[];
    // Siblings overlap in time.
    expect(Math.max(a.start_time, b.start_time, c.start_time)).toBeLessThan(Math.min(a.end_time, b.end_time, c.end_time));
  });

  it('propagates Sampled=0 from an unsampled request, keeps a header the caller set, and stays out of withoutTracing()', async () => {
    await start();
    const unsampled = recorder.beginRequestSegment({ traceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0' })!;
    await recorder.runWith(unsampled, async () => {
      await fetch(`${base}/ok-unsampled-fetch`).then((r) => r.text());
      await axios.get(`${base}/ok-unsampled-http`);
    });
    unsampled.close();
    await recorder.captureSegment('own', async () => {
      await axios.get(`${base}/ok-own-header`, { headers: { 'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272794;Sampled=1' } });
      await withoutTracing(() => fetch(`${base}/ok-suppressed`).then((r) => r.text()));
    });
    expect(received.get('/ok-unsampled-fetch')).toBe(`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${unsampled.id};Sampled=0`);
    expect(received.get('/ok-unsampled-http')).toBe(`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${unsampled.id};Sampled=0`);
    expect(received.get('/ok-own-header')).toBe('Root=1-5759e988-bd862e3fe1be46a994272794;Sampled=1');
    expect(received.get('/ok-suppressed')).toBeUndefined();
    const own = emitter.documents.find((d) => d.name === 'own') as Doc;
    expect(own.subsegments).toHaveLength(1); // the suppressed call is not recorded
  });

  it('adds a W3C traceparent with the same ids only with W3C_TRACE_CONTEXT', async () => {
    await start({ W3C_TRACE_CONTEXT: true });
    await recorder.captureSegment('w3c', async () => {
      await fetch(`${base}/ok-w3c-fetch`).then((r) => r.text());
      await axios.get(`${base}/ok-w3c-http`);
    });
    const subs = subsegments();
    const traceId = (emitter.documents.find((d) => d.name === 'w3c') as Doc).trace_id as string;
    const w3cId = traceId.slice(2).replace('-', '');
    expect(receivedW3c.get('/ok-w3c-fetch')).toBe(`00-${w3cId}-${subs[0].id}-01`);
    expect(receivedW3c.get('/ok-w3c-http')).toBe(`00-${w3cId}-${subs[1].id}-01`);
    await recorder.shutdown();
    await start();
    await recorder.captureSegment('no-w3c', () => fetch(`${base}/ok-no-w3c`).then((r) => r.text()));
    expect(receivedW3c.get('/ok-no-w3c')).toBeUndefined();
  });

  it('marks a call whose callee continued the trace as traced', async () => {
    const callee = http.createServer((req, res) => {
      const root = /Root=([^;]+)/.exec(String(req.headers['x-amzn-trace-id']))?.[1];
      res.setHeader('X-Amzn-Trace-Id', `Root=${root}`);
      res.end('traced callee');
    });
    await new Promise<void>((r) => callee.listen(0, '127.0.0.1', r));
    try {
      await start();
      const url = `http://127.0.0.1:${(callee.address() as { port: number }).port}/`;
      await recorder.captureSegment('traced', async () => {
        await fetch(url).then((r) => r.text());
        await axios.get(url);
        await fetch(`${base}/ok`).then((r) => r.text());
      });
      expect(subsegments().map((s) => s.http.request.traced === true)).toEqual([true, true, false]);
    } finally {
      callee.closeAllConnections();
      await new Promise((r) => callee.close(r));
    }
  });

  it('follows AUTO_INSTRUMENT: false, a list and an object, per recorder', async () => {
    await start({ AUTO_INSTRUMENT: false });
    await recorder.captureSegment('off', async () => {
      await fetch(`${base}/ok-off`).then((r) => r.text());
    });
    expect(received.get('/ok-off')).toBeUndefined();
    expect(instrumentations.holdersOf('fetch')).toBe(0);
    await recorder.shutdown();

    await start({ AUTO_INSTRUMENT: { fetch: false } });
    const other = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'other', EMITTER: new InMemoryEmitter(), SAMPLING: false, LOGGER: false, AUTO_INSTRUMENT: ['fetch'] });
    await other.ready();
    try {
      await recorder.captureSegment('mine', async () => {
        await fetch(`${base}/ok-fetch-off`).then((r) => r.text());
        await axios.get(`${base}/ok-http-on`);
      });
      await other.captureSegment('theirs', async () => {
        await axios.get(`${base}/ok-http-off`);
      });
      expect(received.get('/ok-fetch-off')).toBeUndefined();
      expect(received.get('/ok-http-on')).toMatch(/^Root=/);
      expect(received.get('/ok-http-off')).toBeUndefined();
      expect(subsegments().map((s) => s.http.request.url)).toEqual([expect.stringMatching(/\/ok-http-on$/)]);
    } finally {
      await other.shutdown();
    }
    expect(() => new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'x', AUTO_INSTRUMENT: ['http', 'pgg'] as never })).toThrow(/AUTO_INSTRUMENT lists "pgg"; the instrumentations are http, fetch, aws-sdk/);
  });

  it('does not hold the segment for a response nobody reads; the body is left as the caller left it', async () => {
    await start();
    let response: IncomingMessage | undefined;
    await recorder.captureSegment('unread', async () => {
      response = await new Promise<IncomingMessage>((resolve) => http.get(`${base}/ok-unread`, resolve));
    });
    const segment = emitter.documents.find((d) => d.name === 'unread') as Doc;
    // The segment went out when it closed, with the call in progress (its body was never read).
    expect(segment).toMatchObject({ in_progress: false, subsegments: [{ name: '127.0.0.1', in_progress: true, http: { response: { status: 200 } } }] });
    expect(response!.readableFlowing).toBe(null);
    // Reading it later closes the call, which goes out alone.
    response!.resume();
    await new Promise((r) => response!.on('end', r));
    await sleep(10);
    expect(emitter.documents.at(-1)).toMatchObject({ type: 'subsegment', name: '127.0.0.1', in_progress: false, parent_id: segment.id });
  });

  it('traces the calls of a CommonJS program, with the built package', async () => {
    const core = fileURLToPath(new URL('../../dist/cjs/index.js', import.meta.url));
    const script = `
      const http = require('node:http');
      const { Recorder, InMemoryEmitter } = require(${JSON.stringify(core)});
      const emitter = new InMemoryEmitter();
      const recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'cjs', EMITTER: emitter, SAMPLING: false, LOGGER: false });
      recorder.ready().then(() => recorder.captureSegment('cjs', async () => {
        await new Promise((r) => http.get(${JSON.stringify(`${base}/ok-cjs`)}, (res) => res.resume().on('end', r)));
        await fetch(${JSON.stringify(`${base}/ok-cjs-fetch`)}).then((r) => r.text());
      })).then(() => { process.stdout.write(JSON.stringify(emitter.documents[0].subsegments.map((s) => s.http.request.url))); return recorder.shutdown(); });`;
    // Asynchronously: the servers answering the child run in this process.
    const { stdout: out } = await execFileAsync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([expect.stringMatching(/\/ok-cjs$/), expect.stringMatching(/\/ok-cjs-fetch$/)]);
    expect(received.get('/ok-cjs')).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/);
  });
});
