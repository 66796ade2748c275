// Microbenchmarks, run by run.ts in a process of its own: the cost of one @Subsegment call, of parsing
// and writing a trace header, of serializing a typical segment, and the emitter's datagrams per second.
import 'reflect-metadata';

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { recorder, Segment, Subsegment as SubsegmentEntity, TraceHeader, UdpEmitter } from '@xrayjs/core';
import { Subsegment } from '@xrayjs/nestjs';

import { HAS_TASKSET } from './proc.js';

const CALLS = 10;

class Decorated {
  @Subsegment()
  sync(n: number): number {
    return n + 1;
  }

  @Subsegment()
  async async(n: number): Promise<number> {
    return n + 1;
  }
}

class Plain {
  sync(n: number): number {
    return n + 1;
  }

  async async(n: number): Promise<number> {
    return n + 1;
  }
}

function time(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - t0) * 1e6) / iterations; // ns per iteration
}

/**
 * Like `time()`, in batches of 30 with a turn of the event loop between them, as a server runs: each
 * segment is sent inside the timed part (the emitter's pacing lets 32 datagrams go at once per turn),
 * so the cost measured includes sending and nothing piles up in its queue. `fn` may be async.
 */
async function timeServed(iterations: number, fn: () => void | Promise<void>): Promise<number> {
  const batch = async (count: number): Promise<number> => {
    let busy = 0;
    for (let done = 0; done < count; done += 30) {
      const t0 = performance.now();
      for (let i = 0; i < 30; i++) await fn();
      busy += performance.now() - t0;
      await new Promise((r) => setImmediate(r));
    }
    return busy;
  };
  await batch(Math.min(iterations, 10_000));
  return ((await batch(iterations)) * 1e6) / iterations;
}

// The UDP sink runs in a process of its own (on the other CPU), as the daemon would.
const SINK = `
const s = require('node:dgram').createSocket('udp4'); let n = 0;
s.on('message', () => n++);
s.bind(0, '127.0.0.1', () => { try { s.setRecvBufferSize(16 * 1024 * 1024); } catch {} process.stdout.write('PORT ' + s.address().port + '\\n'); });
process.stdin.on('data', () => process.stdout.write('COUNT ' + n + '\\n'));
process.stdin.on('end', () => process.exit(0));`;
// This process runs pinned to CPU 0 and a child inherits that: the sink asks for CPU 1 explicitly, or
// its work would be timed as the sender's.
const sinkProc = HAS_TASKSET
  ? spawn('taskset', ['-c', '1', process.execPath, '-e', SINK], { stdio: ['pipe', 'pipe', 'inherit'] })
  : spawn(process.execPath, ['-e', SINK], { stdio: ['pipe', 'pipe', 'inherit'] });
let sinkOut = '';
sinkProc.stdout.on('data', (d: Buffer) => (sinkOut += d.toString()));
const waitFor = async (re: RegExp): Promise<string> => {
  for (;;) {
    const all = [...sinkOut.matchAll(new RegExp(re, 'g'))];
    if (all.length) return all[all.length - 1][1];
    await new Promise((r) => setTimeout(r, 20));
  }
};
const sinkPort = Number(await waitFor(/PORT (\d+)/));
const address = `127.0.0.1:${sinkPort}`;
const received = async (): Promise<number> => {
  sinkOut = '';
  sinkProc.stdin.write('?\n');
  return Number(await waitFor(/COUNT (\d+)/));
};

const decorated = new Decorated();
const plain = new Plain();
const out: Record<string, unknown> = {};

// Per segment: CALLS calls, then the segment is closed and sent. The difference to the same segment
// with plain methods, divided by CALLS, is the added cost of one call, its share of the document included.
async function subsegmentCost(label: string, options: Record<string, unknown>, sampled: boolean | undefined): Promise<void> {
  recorder.configure({ AWS_XRAY_TRACING_NAME: 'micro', AWS_XRAY_DAEMON_ADDRESS: address, LOGGER: false, ...options });
  await recorder.ready();
  const withSync = (o: Decorated | Plain) => () => {
    recorder.captureSegment('s', () => {
      for (let i = 0; i < CALLS; i++) o.sync(i);
    }, { sampled });
  };
  const withAsync = (o: Decorated | Plain) => () =>
    recorder.captureSegment('s', async () => {
      for (let i = 0; i < CALLS; i++) await o.async(i);
    }, { sampled });
  const n = 20_000;
  // Decorated and plain runs alternate, five of each; the best of each is kept (the host's CPU steal
  // only ever adds time). The cost of one call is the difference per call.
  const alternate = async (a: () => Promise<number>, b: () => Promise<number>): Promise<number> => {
    let bestA = Infinity;
    let bestB = Infinity;
    for (let i = 0; i < 5; i++) {
      bestA = Math.min(bestA, await a());
      bestB = Math.min(bestB, await b());
    }
    return (bestA - bestB) / CALLS;
  };
  const syncCost = await alternate(() => timeServed(n, withSync(decorated)), () => timeServed(n, withSync(plain)));
  const asyncCost = await alternate(() => timeServed(n, withAsync(decorated)), () => timeServed(n, withAsync(plain)));
  out[label] = { syncNsPerCall: Math.round(syncCost), asyncNsPerCall: Math.round(asyncCost) };
  await recorder.flush();
}

await subsegmentCost('@Subsegment, sampled', {}, true);
// The same with documents made but not sent: the decorator's own cost, without its share of the datagram.
await subsegmentCost('@Subsegment, sampled, documents not sent', { EMITTER: { send() {}, flush: async () => {}, shutdown: async () => {} } }, true);
await subsegmentCost('@Subsegment, unsampled', {}, false);
await subsegmentCost('@Subsegment, AWS_XRAY_SDK_ENABLED=false', { AWS_XRAY_SDK_ENABLED: false }, undefined);

const headerText = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=10:1234abcd:3';
out['TraceHeader.fromString'] = { ns: Math.round(time(1_000_000, () => void TraceHeader.fromString(headerText))) };
const parsed = TraceHeader.fromString(headerText);
out['TraceHeader.toString'] = { ns: Math.round(time(1_000_000, () => void parsed.toString())) };

const typical = new Segment('orders', { parentId: '53995c3f42cd8ad8', aws: { xray: { sdk: 'xrayjs for Node.js', sdk_version: '0.1.0' } }, service: { runtime: 'node', runtime_version: process.version } });
typical.setHttpRequest({ method: 'GET', url: 'http://api.example.com/orders/42?expand=items', client_ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)', x_forwarded_for: true });
typical.putAnnotation('http_route', '/orders/:id');
typical.putAnnotation('order_id', '42');
for (const name of ['OrdersService.find', 'InventoryService.stockOf']) new SubsegmentEntity(name, typical).close();
typical.setHttpResponse({ status: 200, content_length: 512 });
typical.close();
const doc = typical.serialize();
out['serialize a typical segment'] = { bytes: Buffer.byteLength(doc), ns: Math.round(Math.min(time(200_000, () => void typical.serialize()), time(200_000, () => void typical.serialize()))) };

const emitter = new UdpEmitter({ host: '127.0.0.1', port: sinkPort });
await emitter.start();
const before = await received();
const count = 100_000;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
// Sustained sending at the emitter's capacity: batches of 5,000 documents (half its queue), each
// flushed before the next, so that nothing is dropped for a full queue and the figure is what it
// delivers, paced, per second.
for (let i = 0; i < count; i += 5_000) {
  for (let j = 0; j < 5_000; j++) emitter.send(doc);
  await emitter.flush();
}
const seconds = (performance.now() - t0) / 1000;
// CPU of this process while sending: user (JavaScript, the conversion to bytes) and system (the
// sendmsg of each datagram, in the kernel), per document.
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setTimeout(r, 500));
const got = (await received()) - before;
out['UDP emitter'] = { datagrams: count, bytesEach: Buffer.byteLength(doc), sentPerSecond: Math.round(emitter.stats().sent / seconds), userUsPerDocument: Number((cpu.user / count).toFixed(2)), systemUsPerDocument: Number((cpu.system / count).toFixed(2)), receivedBySink: got, failed: emitter.stats().failed, dropped: emitter.stats().dropped };
await emitter.shutdown();
await recorder.shutdown();
sinkProc.stdin.end();
process.stdout.write(JSON.stringify(out));
