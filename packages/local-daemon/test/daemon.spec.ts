import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from '@jest/globals';
import { Recorder } from '@xrayjs/core';

import { LocalDaemon } from '../src/daemon.js';
import { DAEMON_BUFFER_BYTES, parseDatagram } from '../src/protocol.js';

const HEADER = '{"format":"json","version":1}\n';
const TRACE = '1-5759e988-bd862e3fe1be46a994272793';

function segment(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'svc', id, trace_id: TRACE, start_time: 1_700_000_000.5, end_time: 1_700_000_000.7, in_progress: false, ...extra };
}

async function send(daemon: LocalDaemon, payload: string | Buffer): Promise<void> {
  const [host, port] = [daemon.udpAddress.slice(0, daemon.udpAddress.lastIndexOf(':')), Number(daemon.udpAddress.split(':').pop())];
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => socket.send(payload, port, host, (e) => (e ? reject(e) : resolve())));
  socket.close();
}

async function post(daemon: LocalDaemon, path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://${daemon.tcpAddress}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('LocalDaemon', () => {
  let daemon: LocalDaemon;
  afterEach(() => daemon?.stop());

  const start = async (options = {}) => (daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0, ...options }));

  describe('UDP protocol', () => {
    it('should accept a document behind the header line, with any white space and case in the header', async () => {
      await start();
      await send(daemon, HEADER + JSON.stringify(segment('aaaaaaaaaaaaaaa1')));
      await send(daemon, `{"format": "JSON", "version": 1}\n${JSON.stringify(segment('aaaaaaaaaaaaaaa2'))}`);
      await daemon.waitFor((d) => d.stats().accepted === 2);
      expect(daemon.trace(TRACE)!.segments.map((s) => s.doc.id).sort()).toEqual(['aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa2']);
    });

    it.each([
      ['no header line', JSON.stringify(segment('bbbbbbbbbbbbbbb1')), 'no header line'],
      ['a wrong header', `{"format":"xml","version":1}\n${JSON.stringify(segment('bbbbbbbbbbbbbbb2'))}`, 'unsupported header'],
      ['a wrong version', `{"format":"json","version":2}\n{}`, 'unsupported header'],
      ['a header that is not JSON', `hello\n{}`, 'header line is not JSON'],
      ['no document', HEADER, 'missing segment document'],
      ['broken JSON', `${HEADER}{"name": "svc", `, 'not JSON'],
      ['a schema failure', HEADER + JSON.stringify({ name: 'bad*name', id: 'x', start_time: 1, trace_id: TRACE }), "fails AWS's segment schema"],
      ['a JSON array', `${HEADER}[1,2]`, 'not a JSON object'],
    ])('should count and keep a datagram with %s, and keep running', async (_label, payload, reason) => {
      await start();
      await send(daemon, payload);
      await send(daemon, HEADER + JSON.stringify(segment('ccccccccccccccc1')));
      await daemon.waitFor((d) => d.stats().datagrams === 2);
      expect(daemon.stats()).toMatchObject({ datagrams: 2, accepted: 1, rejected: 1 });
      expect(daemon.rejections[0].reason).toContain(reason);
      const stats = (await (await fetch(`${daemon.viewerUrl}api/stats`)).json()) as { rejections: { reason: string }[] };
      expect(stats.rejections[0].reason).toContain(reason);
    });

    it('should handle the largest datagram UDP carries, and refuse what is over 64 KB', async () => {
      await start();
      // A valid document that fills the largest datagram exactly is accepted.
      const bare = HEADER + JSON.stringify(segment('ddddddddddddddd1', { metadata: { default: { pad: '' } } }));
      const full = HEADER + JSON.stringify(segment('ddddddddddddddd1', { metadata: { default: { pad: 'x'.repeat(65_507 - Buffer.byteLength(bare)) } } }));
      expect(Buffer.byteLength(full)).toBe(65_507);
      await send(daemon, full);
      await daemon.waitFor((d) => d.stats().accepted === 1);
      // The same size cut mid-JSON is refused as broken JSON, and the daemon goes on.
      const cut = HEADER + JSON.stringify(segment('ddddddddddddddd2', { metadata: { default: { pad: 'x'.repeat(70_000) } } }));
      await send(daemon, Buffer.from(cut).subarray(0, 65_507));
      await daemon.waitFor((d) => d.stats().datagrams === 2);
      expect(daemon.rejections[0]).toMatchObject({ bytes: 65_507 });
      expect(daemon.rejections[0].reason).toMatch(/^the document is not JSON/);
      expect(daemon.stats()).toMatchObject({ accepted: 1, rejected: 1 });
      const over = parseDatagram(Buffer.alloc(DAEMON_BUFFER_BYTES + 10, 0x20));
      expect('rejection' in over && over.rejection.reason).toMatch(/over the daemon's 64 KB buffer/);
    });
  });

  describe('traces', () => {
    it('should assemble streamed subsegments and replace in-progress documents with the final one', async () => {
      await start();
      await send(daemon, HEADER + JSON.stringify(segment('eeeeeeeeeeeeeee1', { end_time: undefined, in_progress: true, subsegments: [{ name: 'open', id: 'fffffffffffffff1', start_time: 1_700_000_000.55, in_progress: true }] })));
      await send(daemon, HEADER + JSON.stringify({ name: 'open', id: 'fffffffffffffff1', type: 'subsegment', trace_id: TRACE, parent_id: 'eeeeeeeeeeeeeee1', start_time: 1_700_000_000.55, end_time: 1_700_000_000.6, in_progress: false, subsegments: [{ name: 'inner', id: 'fffffffffffffff2', start_time: 1_700_000_000.56, end_time: 1_700_000_000.57 }] }));
      await send(daemon, HEADER + JSON.stringify(segment('eeeeeeeeeeeeeee1')));
      // A late in-progress copy never replaces the final document.
      await send(daemon, HEADER + JSON.stringify(segment('eeeeeeeeeeeeeee1', { end_time: undefined, in_progress: true })));
      await daemon.waitFor((d) => d.stats().datagrams === 4);
      const trace = daemon.trace(TRACE)!;
      expect(trace.segments).toHaveLength(1);
      const [seg] = trace.segments;
      expect(seg.doc.in_progress).toBe(false);
      expect(seg.children).toHaveLength(1);
      expect(seg.children[0].doc).toMatchObject({ name: 'open', in_progress: false });
      expect(seg.children[0].children[0].doc.name).toBe('inner');
      expect(trace.summary.inProgress).toBe(false);
    });

    it('should evict the oldest traces past the limit', async () => {
      await start({ maxTraces: 3 });
      for (let i = 1; i <= 5; i++) await send(daemon, HEADER + JSON.stringify({ ...segment(`${i}`.padStart(16, 'a')), trace_id: `1-5759e988-bd862e3fe1be46a99427279${i}` }));
      await daemon.waitFor((d) => d.stats().accepted === 5);
      expect(daemon.traces().map((t) => t.id)).toEqual(['1-5759e988-bd862e3fe1be46a994272795', '1-5759e988-bd862e3fe1be46a994272794', '1-5759e988-bd862e3fe1be46a994272793']);
      expect(daemon.stats().evicted).toBe(2);
    });

    it('should write traces to a file and load them at the next start', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'xray-local-')), 'traces.jsonl');
      await start({ file });
      await send(daemon, HEADER + JSON.stringify(segment('aaaaaaaaaaaaaab1')));
      await daemon.waitForTraces(1);
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
      await daemon.stop();
      await start({ file });
      expect(daemon.traces().map((t) => t.id)).toEqual([TRACE]);
    });

    it('should filter by service, status, errors, annotation and time', async () => {
      await start();
      const mk = (n: number, extra: Record<string, unknown>) => ({ ...segment(`${n}`.padStart(16, 'b')), trace_id: `1-5759e988-bd862e3fe1be46a99427270${n}`, ...extra });
      await send(daemon, HEADER + JSON.stringify(mk(1, { name: 'a', http: { response: { status: 200 } }, annotations: { user: 'x' } })));
      await send(daemon, HEADER + JSON.stringify(mk(2, { name: 'b', http: { response: { status: 404 } }, error: true })));
      await send(daemon, HEADER + JSON.stringify(mk(3, { name: 'a', http: { response: { status: 503 } }, fault: true, start_time: 1_600_000_000, end_time: 1_600_000_001 })));
      await daemon.waitForTraces(3);
      const ids = (q: object) => daemon.traces(q).map((t) => t.id.slice(-1));
      expect(ids({ service: 'a' })).toEqual(['3', '1']);
      expect(ids({ status: '404' })).toEqual(['2']);
      expect(ids({ status: '5xx' })).toEqual(['3']);
      expect(ids({ errors: true })).toEqual(['3', '2']);
      expect(ids({ annotation: 'user=x' })).toEqual(['1']);
      expect(ids({ from: 1_650_000_000 })).toEqual(['2', '1']);
      const api = (await (await fetch(`${daemon.viewerUrl}api/traces?errors=1&service=a`)).json()) as { traces: { id: string }[] };
      expect(api.traces.map((t) => t.id.slice(-1))).toEqual(['3']);
    });

    it('should receive what the xrayjs recorder sends, through its daemon address', async () => {
      await start();
      const recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'via-recorder', AWS_XRAY_DAEMON_ADDRESS: daemon.daemonAddress, SAMPLING: false, LOGGER: false });
      await recorder.ready();
      const traceId = recorder.captureSegment('job', (seg) => {
        recorder.capture('step', () => undefined);
        return seg!.trace_id;
      });
      await daemon.waitForTraces(1);
      const trace = daemon.trace(traceId)!;
      expect(trace.segments[0].doc.name).toBe('job');
      expect(trace.segments[0].children[0].doc.name).toBe('step');
      await recorder.shutdown();
    });
  });

  describe('sampling API over TCP', () => {
    it('should answer GetSamplingRules with the default rule', async () => {
      await start();
      const { status, json } = await post(daemon, '/GetSamplingRules', '{}');
      expect(status).toBe(200);
      expect(json).toEqual({
        SamplingRuleRecords: [
          expect.objectContaining({
            SamplingRule: expect.objectContaining({ RuleName: 'Default', Priority: 10000, FixedRate: 0.05, ReservoirSize: 1, ServiceName: '*', Host: '*', HTTPMethod: '*', URLPath: '*', ResourceARN: '*', Version: 1 }),
          }),
        ],
      });
      expect((await post(daemon, '/GetSamplingRules', '{"NextToken": null}')).status).toBe(200);
    });

    it('should answer SamplingTargets with a quota for each reported rule', async () => {
      await start();
      const now = Math.floor(Date.now() / 1000);
      const { status, json } = await post(daemon, '/SamplingTargets', JSON.stringify({ SamplingStatisticsDocuments: [{ RuleName: 'Default', ClientID: 'a'.repeat(24), Timestamp: now, RequestCount: 10, SampledCount: 1, BorrowCount: 1 }, { RuleName: 'Other', ClientID: 'a'.repeat(24), Timestamp: now, RequestCount: 1, SampledCount: 0, BorrowCount: 0 }] }));
      expect(status).toBe(200);
      expect(json.SamplingTargetDocuments).toEqual([{ RuleName: 'Default', FixedRate: 0.05, ReservoirQuota: 1, ReservoirQuotaTTL: expect.any(Number), Interval: 10 }]);
      expect(json.UnprocessedStatistics).toEqual([{ RuleName: 'Other', ErrorCode: '400', Message: 'Unknown rule' }]);
      expect(daemon.stats()).toMatchObject({ samplingTargetRequests: 1 });
    });

    it('should refuse malformed requests with InvalidRequestException and keep serving', async () => {
      await start();
      expect(await post(daemon, '/SamplingTargets', '{nope')).toEqual({ status: 400, json: { __type: 'InvalidRequestException', message: 'the request body is not JSON' } });
      expect((await post(daemon, '/SamplingTargets', '{}')).json.__type).toBe('InvalidRequestException');
      expect((await post(daemon, '/SamplingTargets', JSON.stringify({ SamplingStatisticsDocuments: Array.from({ length: 26 }, () => ({})) }))).status).toBe(400);
      expect((await fetch(`http://${daemon.tcpAddress}/Other`)).status).toBe(404);
      expect((await post(daemon, '/GetSamplingRules', '{}')).status).toBe(200);
    });
  });
});
