import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from '@jest/globals';

import { LocalDaemon } from '../src/daemon.js';
import type { SegmentDocument } from '../src/protocol.js';
import { MAX_TREE_DEPTH, TraceStore } from '../src/trace-store.js';

const HEADER = '{"format":"json","version":1}\n';
const TRACE = '1-5759e988-bd862e3fe1be46a994272793';
const T0 = 1_700_000_000;

const hex16 = (n: number): string => n.toString(16).padStart(16, '0');
const traceId = (n: number): string => `1-5759e988-${n.toString(16).padStart(24, '0')}`;

function subsegment(n: number, parent: string, trace = TRACE): SegmentDocument {
  return { type: 'subsegment', name: `op-${n}`, id: hex16(n + 1), parent_id: parent, trace_id: trace, start_time: T0 + n / 1e6, end_time: T0 + n / 1e6 + 0.001, in_progress: false };
}

const datagram = (doc: unknown): Buffer => Buffer.from(HEADER + JSON.stringify(doc));

/** A raw HTTP/1.1 request, so that a test can set any Host or Origin. */
function raw(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const portOf = (url: string | undefined): number => Number(new URL(url!).port);

describe('the local daemon under hostile input', () => {
  let daemon: LocalDaemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it('keeps answering the list and the trace page for one trace of 150,000 subsegment documents, keeping a bounded, counted part of it', async () => {
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0 });
    daemon.receive(datagram({ name: 'svc', id: 'a000000000000000', trace_id: TRACE, start_time: T0, end_time: T0 + 1, in_progress: false }));
    // The datagrams as the socket would hand them over (UDP itself would drop some of 150,000 sent at once).
    for (let i = 0; i < 150_000; i++) daemon.receive(datagram(subsegment(i, 'a000000000000000')));
    const stats = daemon.stats();
    expect(stats).toMatchObject({ datagrams: 150_001, accepted: 150_001, truncated: 150_001 - 10_000 });
    const port = portOf(daemon.viewerUrl);
    const list = await raw(port, '/api/traces');
    expect(list.status).toBe(200);
    const [summary] = (JSON.parse(list.body) as { traces: Record<string, unknown>[] }).traces;
    expect(summary).toMatchObject({ id: TRACE, documents: 10_000, truncated: 140_001, service: 'svc' });
    const page = await raw(port, `/api/traces/${TRACE}`);
    expect(page.status).toBe(200);
    const trace = JSON.parse(page.body) as { segments: { children: unknown[] }[] };
    expect(trace.segments[0].children).toHaveLength(9_999);
  });

  it('bounds the store by bytes as well as by traces: the oldest traces go first, counted', () => {
    const store = new TraceStore({ maxTraces: 1000, maxBytes: 1_000_000 });
    const padding = 'p'.repeat(20_000);
    for (let i = 0; i < 200; i++) {
      const doc = { name: 'svc', id: hex16(i + 1), trace_id: traceId(i), start_time: T0, end_time: T0 + 1, metadata: { default: { padding } } };
      store.add(doc, Date.now(), JSON.stringify(doc).length + HEADER.length);
    }
    expect(store.bytes).toBeLessThanOrEqual(1_000_000);
    expect(store.size).toBeGreaterThan(40);
    expect(store.size).toBeLessThan(50);
    expect(store.evicted).toBe(200 - store.size);
    expect(store.evictedBytes).toBeGreaterThan(3_000_000);
    // The newest stay.
    expect(store.get(traceId(199))).toBeDefined();
    expect(store.get(traceId(0))).toBeUndefined();
  });

  it('assembles a chain of 20,000 streamed subsegments in reverse order, and parents that name each other, without deep recursion or a hang', () => {
    const store = new TraceStore({ maxDocumentsPerTrace: 30_000 });
    store.add({ name: 'svc', id: hex16(0), trace_id: TRACE, start_time: T0, end_time: T0 + 1 });
    for (let i = 20_000; i >= 1; i--) store.add(subsegment(i, hex16(i)));
    // Two parts that name each other as parents, and one whose parent never arrives.
    store.add({ ...subsegment(50_000, hex16(50_002)), id: hex16(50_001) });
    store.add({ ...subsegment(50_001, hex16(50_001)), id: hex16(50_002) });
    store.add({ ...subsegment(60_000, 'ffffffffffffffff'), id: hex16(60_001) });
    const started = Date.now();
    const [segment] = store.get(TRACE)!.assemble();
    const text = JSON.stringify(segment); // what the API sends: must not overflow the stack
    expect(Date.now() - started).toBeLessThan(10_000); // generous: linear work, milliseconds here
    let depth = 0;
    let count = 0;
    const stack: [{ children: unknown[] }, number][] = [[segment, 0]];
    while (stack.length > 0) {
      const [node, d] = stack.pop()!;
      depth = Math.max(depth, d);
      count++;
      for (const child of node.children as { children: unknown[] }[]) stack.push([child, d + 1]);
    }
    expect(count).toBe(1 + 20_000 + 3);
    expect(depth).toBeLessThanOrEqual(MAX_TREE_DEPTH);
    expect(text.length).toBeGreaterThan(0);
    expect(store.get(TRACE)!.summary().documents).toBe(20_004);
  });

  it('answers malformed trace ids with 400 and unknown ones with 404, and an oversized sampling request with 413', async () => {
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0 });
    const port = portOf(daemon.viewerUrl);
    expect((await raw(port, '/api/traces/%E0%A4%A')).status).toBe(400);
    expect((await raw(port, `/api/traces/${'x'.repeat(200)}`)).status).toBe(400);
    expect((await raw(port, '/api/traces/%00')).status).toBe(400);
    expect((await raw(port, `/api/traces/${TRACE}`)).status).toBe(404);
    const tcpPort = Number(daemon.tcpAddress.split(':').pop());
    const big = await raw(tcpPort, '/GetSamplingRules', { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ __type: 'RequestEntityTooLargeException' });
    // and keeps serving
    expect((await raw(tcpPort, '/GetSamplingRules', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
  });

  it('refuses to clear the traces for a plain form, a text/plain body, another Origin or a cross-site fetch', async () => {
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0 });
    daemon.receive(datagram({ name: 'svc', id: 'a000000000000000', trace_id: TRACE, start_time: T0, end_time: T0 + 1, in_progress: false }));
    const port = portOf(daemon.viewerUrl);
    const host = `127.0.0.1:${port}`;
    const attempts: Record<string, string>[] = [
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-type': 'application/json', origin: 'http://evil.example' },
      { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      { 'content-type': 'application/json', origin: 'null' },
    ];
    for (const headers of attempts) {
      const res = await raw(port, '/api/clear', { method: 'POST', headers: { host, ...headers }, body: '{}' });
      expect([headers, res.status]).toEqual([headers, headers['content-type'] === 'application/json' ? 403 : 415]);
    }
    expect(daemon.store.size).toBe(1);
    expect((await raw(port, '/api/clear', { method: 'GET', headers: { host } })).status).toBe(405);
    const own = await raw(port, '/api/clear', { method: 'POST', headers: { host, 'content-type': 'application/json', origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, body: '{}' });
    expect(own.status).toBe(200);
    expect(daemon.store.size).toBe(0);
  });

  it('answers only requests for the loopback names, the configured host and the allowed ones (DNS rebinding)', async () => {
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0, allowedHosts: ['xray.dev.internal'] });
    const port = portOf(daemon.viewerUrl);
    for (const host of ['evil.example.com', `evil.example.com:${port}`, 'localhost.evil.example', '127.0.0.1.nip.io', '[::2]', '0.0.0.0']) {
      const res = await raw(port, '/api/traces', { headers: { host } });
      expect([host, res.status]).toEqual([host, 403]);
      expect(res.body).not.toContain('"traces"');
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, 'xray.dev.internal', 'app.localhost']) {
      expect([host, (await raw(port, '/api/traces', { headers: { host } })).status]).toEqual([host, 200]);
    }
    expect((await raw(port, '/', { headers: { host: 'evil.example.com' } })).status).toBe(403);
  });

  it('holds its memory bound under 100,000 junk datagrams of 10 kinds, in a process of its own', async () => {
    const cli = fileURLToPath(new URL('../dist/esm/cli.js', import.meta.url));
    const child = spawn(process.execPath, [cli, '--address', '127.0.0.1:0', '--viewer-port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout! });
      const got: string[] = [];
      await new Promise<void>((resolve) =>
        lines.on('line', (line: string) => {
          got.push(line);
          if (got.length === 2) resolve();
        }),
      );
      const udp = /UDP ([\d.]+):(\d+)/.exec(got[0])!;
      const viewer = /Trace viewer: (\S+)/.exec(got[1])![1];
      const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
      const baseline = rss();
      const socket = createSocket('udp4');
      const big = 'x'.repeat(60_000);
      const deep = `${'{"subsegments":['.repeat(2000)}${']}'.repeat(2000)}`;
      const kinds: ((i: number) => string | Buffer)[] = [
        () => 'no header at all',
        () => `{"format":"xml","version":1}\n{}`,
        () => `${HEADER}{"name": "broken`,
        () => `${HEADER}[1,2,3]`,
        () => `${HEADER}${JSON.stringify({ name: 'bad*name', id: 'x', start_time: 1, trace_id: TRACE })}`,
        // Large valid documents, each its own trace: the byte bound evicts.
        (i) => HEADER + JSON.stringify({ name: 'svc', id: hex16(i + 1), trace_id: traceId(i), start_time: T0, end_time: T0 + 1, metadata: { default: { big } } }),
        // Valid subsegments of one trace: the per-trace bound truncates.
        (i) => HEADER + JSON.stringify(subsegment(i, 'a000000000000000')),
        // Small valid segments of new traces: the trace-count bound evicts.
        (i) => HEADER + JSON.stringify({ name: 'svc', id: hex16(i + 1), trace_id: traceId(i + 1_000_000), start_time: T0, end_time: T0 + 1 }),
        () => `${HEADER}${deep}`,
        (i) => Buffer.alloc(1000 + (i % 3000), i % 256),
      ];
      let peak = baseline;
      const read = async (): Promise<number> => ((await (await fetch(`${viewer}api/stats`)).json()) as { stats: { datagrams: number } }).stats.datagrams;
      for (let i = 0; i < 100_000; i++) {
        const payload = kinds[i % kinds.length](i);
        await new Promise<void>((resolve) => socket.send(payload, Number(udp[2]), udp[1], () => resolve()));
        if (i % 500 === 499) {
          // As fast as the daemon reads (datagrams a busy daemon drops are not what this measures), sampling its RSS.
          for (let tries = 0; tries < 200 && (await read()) < i + 1 - 1000; tries++) await new Promise((r) => setTimeout(r, 5));
          peak = Math.max(peak, rss());
        }
      }
      socket.close();
      await new Promise((r) => setTimeout(r, 500));
      peak = Math.max(peak, rss());
      const res = await fetch(`${viewer}api/stats`);
      const { stats } = (await res.json()) as { stats: Record<string, number> };
      process.stdout.write(`local daemon under 100,000 junk datagrams: RSS ${baseline.toFixed(0)} MB at start, peak ${peak.toFixed(0)} MB; ${JSON.stringify(stats)}\n`);
      expect(stats.datagrams).toBeGreaterThan(90_000);
      expect(stats.rejected).toBeGreaterThan(40_000);
      expect(stats.bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
      expect(stats.traces).toBeLessThanOrEqual(1000);
      expect(stats.evicted).toBeGreaterThan(0);
      expect(peak).toBeLessThan(450);
    } finally {
      child.kill();
    }
  }, 120_000);
});
