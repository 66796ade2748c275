import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { diag } from '../src/diag.js';
import { InMemoryEmitter } from '../src/emitting/in-memory-emitter.js';
import { NOOP_SEGMENT, NOOP_SUBSEGMENT } from '../src/index.js';
import { Recorder } from '../src/recorder/recorder.js';
import type { Sampler, SamplingRequest } from '../src/sampling/sampler.js';
import { validateSegmentDocument } from './support/conformance.js';

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const PARENT = '53995c3f42cd8ad8';

describe('Recorder', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  function make(options: Record<string, unknown> = {}): Recorder {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'orders', EMITTER: emitter, LOGGER: false, ...options });
    return recorder;
  }

  beforeEach(() => {
    make();
  });
  afterEach(() => diag.reset());

  describe('#beginRequestSegment()', () => {
    it('should continue the caller trace (Root, Parent, Sampled=1) and record http.request', () => {
      const seg = recorder.beginRequestSegment({
        traceHeader: `Root=${ROOT};Parent=${PARENT};Sampled=1;Tenant=acme`,
        host: 'api.example.com',
        method: 'POST',
        path: '/orders',
      })!;
      recorder.setRequest(seg, { method: 'POST', url: 'https://api.example.com/orders?x=1', client_ip: '203.0.113.9', x_forwarded_for: true, user_agent: 'curl/8' });
      recorder.setResponse(seg, { status: 201, content_length: 17 });
      seg.close();
      const doc = emitter.documents[0];
      expect(doc).toMatchObject({
        name: 'orders',
        trace_id: ROOT,
        parent_id: PARENT,
        http: {
          request: { method: 'POST', url: 'https://api.example.com/orders?x=1', client_ip: '203.0.113.9', x_forwarded_for: true, user_agent: 'curl/8' },
          response: { status: 201, content_length: 17 },
        },
      });
      expect(validateSegmentDocument(doc).valid).toBe(true);
      expect(recorder.responseTraceHeader(seg)).toBe(`Root=${ROOT}`);
      // Outgoing calls carry the trace, this entity as parent, the decision and the caller's extras.
      expect(recorder.downstreamHeader(seg)).toBe(`Root=${ROOT};Parent=${seg.id};Sampled=1;Tenant=acme`);
    });

    it('should obey Sampled=0: nothing is sent, the caller trace id is kept, and Sampled=1 is never propagated', () => {
      const seg = recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Parent=${PARENT};Sampled=0` })!;
      expect(seg.sampled).toBe(false);
      expect(seg.trace_id).toBe(ROOT);
      expect(recorder.downstreamHeader(seg)).toBe(`Root=${ROOT};Parent=${seg.id};Sampled=0`);
      recorder.runWith(seg, () => {
        expect(recorder.capture('x', (s) => s)).toBe(NOOP_SUBSEGMENT);
        recorder.putAnnotation('a', 1);
      });
      expect(seg.annotations).toBeUndefined();
      seg.close();
      expect(emitter.documents).toEqual([]);
      expect(recorder.responseTraceHeader(seg)).toBe(`Root=${ROOT}`);
    });

    it('should decide when the caller says Sampled=? and answer with the decision', () => {
      make({ SAMPLER: { shouldTrace: () => false } satisfies Sampler });
      const no = recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Parent=${PARENT};Sampled=?` })!;
      expect(recorder.responseTraceHeader(no)).toBe(`Root=${ROOT};Sampled=0`);
      make({ SAMPLER: { shouldTrace: () => true } satisfies Sampler });
      const yes = recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Parent=${PARENT};Sampled=?` })!;
      expect(recorder.responseTraceHeader(yes)).toBe(`Root=${ROOT};Sampled=1`);
    });

    it('should obey a forced decision over the caller header and answer Sampled=? with it', () => {
      make({ SAMPLING: false });
      const forced = recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Parent=${PARENT};Sampled=1`, sampled: false })!;
      expect(forced.sampled).toBe(false);
      expect(forced.trace_id).toBe(ROOT);
      expect(recorder.downstreamHeader(forced)).toMatch(/;Sampled=0$/);
      const asked = recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Sampled=?`, sampled: false })!;
      expect(recorder.responseTraceHeader(asked)).toBe(`Root=${ROOT};Sampled=0`);
      forced.close();
      asked.close();
      expect(emitter.documents).toEqual([]);
    });

    it('should start a new trace for a missing or malformed Root and drop a malformed Parent', () => {
      make({ SAMPLING: false });
      const a = recorder.beginRequestSegment({ traceHeader: 'Root=garbage;Parent=53995c3f42cd8ad8' })!;
      expect(a.trace_id).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      expect(a.trace_id).not.toBe('garbage');
      expect(a.parent_id).toBeUndefined();
      const b = recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Parent=not-an-id` })!;
      expect(b.trace_id).toBe(ROOT);
      expect(b.parent_id).toBeUndefined();
      const c = recorder.beginRequestSegment({ traceHeader: 'x'.repeat(100_000) })!;
      expect(c.sampled).toBe(true);
      for (const s of [a, b, c]) s.close();
      expect(emitter.documents).toHaveLength(3);
      for (const d of emitter.documents) expect(validateSegmentDocument(d).valid).toBe(true);
    });

    it('should sample every request with SAMPLING: false, unless the caller said Sampled=0', () => {
      make({ SAMPLING: false, SAMPLER: { shouldTrace: () => false } satisfies Sampler });
      expect(recorder.beginRequestSegment({})!.sampled).toBe(true);
      expect(recorder.beginRequestSegment({ traceHeader: `Root=${ROOT};Sampled=0` })!.sampled).toBe(false);
    });

    it('should apply local rules by host, method and path', () => {
      make({
        SAMPLING_RULES: {
          version: 2,
          default: { fixed_target: 0, rate: 0 },
          rules: [{ host: '*', http_method: 'GET', url_path: '/health*', fixed_target: 0, rate: 0 }, { host: 'api.*', http_method: '*', url_path: '*', fixed_target: 1000, rate: 0 }],
        },
      });
      expect(recorder.beginRequestSegment({ host: 'api.example.com', method: 'GET', path: '/healthz' })!.sampled).toBe(false);
      expect(recorder.beginRequestSegment({ host: 'api.example.com', method: 'GET', path: '/orders' })!.sampled).toBe(true);
      expect(recorder.beginRequestSegment({ host: 'web.example.com', method: 'GET', path: '/orders' })!.sampled).toBe(false);
    });

    it('should write the rule name of a centralized-style sampler to aws.xray.sampling_rule_name', () => {
      make({ SAMPLER: { shouldTrace: () => 'Checkout' } satisfies Sampler });
      const seg = recorder.beginRequestSegment({})!;
      seg.close();
      expect(emitter.documents[0]).toMatchObject({ aws: { xray: { sdk: 'xrayjs for Node.js', sampling_rule_name: 'Checkout' } } });
    });

    it('should hand the sampler every field of beginSegment()\'s samplingRequest, with the origin and RESOURCE_ARN filled in', async () => {
      const seen: SamplingRequest[] = [];
      make({ SAMPLER: { shouldTrace: (r: SamplingRequest) => (seen.push(r), true) } satisfies Sampler, PLUGINS: ['ECSPlugin'], RESOURCE_ARN: 'arn:aws:ecs:eu-west-1:1:service/shop/api' });
      await recorder.ready();
      recorder.beginSegment('job', { samplingRequest: { path: '/jobs/7', attributes: { tenant: 'gold' }, headers: { 'x-tenant': 'gold' } } }).close();
      recorder.beginSegment('job', { samplingRequest: { serviceType: 'AWS::Lambda::Function', resourceArn: 'arn:own' } }).close();
      expect(seen[0]).toMatchObject({ service: 'job', path: '/jobs/7', serviceType: 'AWS::ECS::Container', resourceArn: 'arn:aws:ecs:eu-west-1:1:service/shop/api', attributes: { tenant: 'gold' }, headers: { 'x-tenant': 'gold' } });
      expect(seen[1]).toMatchObject({ serviceType: 'AWS::Lambda::Function', resourceArn: 'arn:own' });
    });

    it('should stop a replaced sampler at once, so that one given again in the same turn stays started', async () => {
      const calls: string[] = [];
      const own: Sampler = { shouldTrace: () => true, start: () => void calls.push('start'), stop: () => void calls.push('stop') };
      const base = { AWS_XRAY_TRACING_NAME: 'orders', EMITTER: emitter, LOGGER: false as const };
      recorder.configure({ ...base, SAMPLER: own });
      recorder.configure({ ...base, SAMPLER: 'local' });
      recorder.configure({ ...base, SAMPLER: own });
      await new Promise((r) => setTimeout(r, 10));
      expect(calls).toEqual(['start', 'stop', 'start']);
    });

    it('should log a sampler whose stop() throws, and go on', async () => {
      make({ SAMPLER: { shouldTrace: () => true, stop: () => { throw new Error('stuck'); } } satisfies Sampler });
      await recorder.shutdown();
      expect(recorder.stats().problems.sampler_stop_failed).toBe(1);
    });

    it('should not sample when the sampler throws, and say so once', () => {
      const errors: string[] = [];
      make({ SAMPLER: { shouldTrace: () => { throw new Error('bad sampler'); } } satisfies Sampler, LOGGER: { error: (m: string) => errors.push(m), warn: () => {} } });
      expect(recorder.beginRequestSegment({})!.sampled).toBe(false);
      expect(recorder.beginRequestSegment({})!.sampled).toBe(false);
      expect(recorder.stats().problems.sampler_failed).toBe(2);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/The sampler threw \(bad sampler\)/);
    });
  });

  describe('dynamic naming', () => {
    beforeEach(() => {
      make({ DYNAMIC_NAMING: '*.example.com', SAMPLING: false });
    });

    it.each([
      ['api.example.com', 'api.example.com'],
      ['API.Example.com', 'API.Example.com'],
      ['evil.com', 'orders'],
      [undefined, 'orders'],
      ['', 'orders'],
    ])('host %p is named %p', (host, name) => {
      expect(recorder.beginRequestSegment({ host })!.name).toBe(name);
    });

    it('should support ? and keep forged hosts within the schema', () => {
      make({ DYNAMIC_NAMING: '*', SAMPLING: false });
      const seg = recorder.beginRequestSegment({ host: '<script>alert(1)</script>' })!;
      seg.close();
      expect(seg.name).toBe('scriptalert1/script');
      expect(validateSegmentDocument(emitter.documents[0]).valid).toBe(true);
      make({ DYNAMIC_NAMING: 'api-?.example.com', SAMPLING: false });
      expect(recorder.beginRequestSegment({ host: 'api-1.example.com' })!.name).toBe('api-1.example.com');
      expect(recorder.beginRequestSegment({ host: 'api-12.example.com' })!.name).toBe('orders');
    });
  });

  describe('#capture()', () => {
    beforeEach(() => {
      make({ SAMPLING: false });
    });

    it('should trace sync and async functions and return their results', async () => {
      const result = await recorder.captureSegment('job', async () => {
        const a = recorder.capture('sync', () => 1);
        const b = await recorder.capture('async', async () => 2);
        return a + b;
      });
      expect(result).toBe(3);
      expect(emitter.documents[0]).toMatchObject({ name: 'job', subsegments: [{ name: 'sync' }, { name: 'async' }] });
    });

    it('should record errors and rethrow the very same error object', async () => {
      const syncError = new Error('sync');
      const asyncError = new TypeError('async');
      await recorder.captureSegment('job', async () => {
        expect(() => recorder.capture('s', () => { throw syncError; })).toThrow(syncError);
        await expect(recorder.capture('a', async () => { throw asyncError; })).rejects.toBe(asyncError);
        expect(() => recorder.capture('s2', () => { throw syncError; })).toThrow(syncError);
      });
      const subs = (emitter.documents[0] as { subsegments: { name: string; fault: boolean; cause: { exceptions: { type: string }[] } | string }[] }).subsegments;
      expect(subs.map((s) => [s.name, s.fault])).toEqual([['s', true], ['a', true], ['s2', true]]);
      expect((subs[1].cause as { exceptions: { type: string }[] }).exceptions[0].type).toBe('TypeError');
      // The same error object recorded twice is referenced by id the second time.
      expect(typeof subs[2].cause).toBe('string');
    });

    it('should use the error classifier for the flag', () => {
      recorder.setErrorClassifier((e) => ((e as { status?: number }).status === 404 ? 'error' : 'fault'));
      recorder.captureSegment('job', () => {
        try {
          recorder.capture('notFound', () => { throw Object.assign(new Error('nf'), { status: 404 }); });
        } catch {
          // expected
        }
      });
      const sub = (emitter.documents[0] as { subsegments: Record<string, unknown>[] }).subsegments[0];
      expect(sub.error).toBe(true);
      expect(sub).not.toHaveProperty('fault');
    });

    it('should record on the segment and rethrow from captureSegment', async () => {
      await expect(recorder.captureSegment('job', async () => { throw new Error('job failed'); })).rejects.toThrow('job failed');
      expect(emitter.documents[0]).toMatchObject({ name: 'job', fault: true, cause: { exceptions: [{ message: 'job failed' }] } });
    });
  });

  describe('manual API', () => {
    beforeEach(() => {
      make({ SAMPLING: false });
    });

    it('should put annotations, metadata and user on the current entity', () => {
      recorder.captureSegment('job', () => {
        recorder.setUser('alice');
        recorder.putAnnotation('on_segment', true);
        recorder.capture('step', () => {
          recorder.putAnnotation('on_sub', 1);
          recorder.putMetadata('k', { v: 1 }, 'ns');
          expect(recorder.isSampled()).toBe(true);
        });
      });
      expect(emitter.documents[0]).toMatchObject({
        user: 'alice',
        annotations: { on_segment: true },
        subsegments: [{ annotations: { on_sub: 1 }, metadata: { ns: { k: { v: 1 } } } }],
      });
    });

    it('should end subsegments and segments opened by hand', () => {
      const seg = recorder.beginSegment('manual', { traceHeader: `Root=${ROOT};Parent=${PARENT};Sampled=1` });
      const sub = recorder.beginSubsegment('step', { namespace: 'remote', parent: seg });
      recorder.runWith(sub, () => recorder.addError(new Error('x'), { flag: 'error', remote: true }));
      recorder.endSubsegment(sub);
      recorder.endSegment(seg);
      expect(seg.trace_id).toBe(ROOT);
      expect(emitter.documents[0]).toMatchObject({ name: 'manual', trace_id: ROOT, parent_id: PARENT, subsegments: [{ id: sub.id, namespace: 'remote', error: true }] });
    });
  });

  describe('AWS_XRAY_SDK_ENABLED=false', () => {
    it('should make everything a no-op that still runs the work', async () => {
      const saved = process.env.AWS_XRAY_SDK_ENABLED;
      process.env.AWS_XRAY_SDK_ENABLED = 'false';
      try {
        make({ AWS_XRAY_CONTEXT_MISSING: 'RUNTIME_ERROR' });
      } finally {
        if (saved === undefined) delete process.env.AWS_XRAY_SDK_ENABLED;
        else process.env.AWS_XRAY_SDK_ENABLED = saved;
      }
      expect(recorder.enabled).toBe(false);
      expect(recorder.beginRequestSegment({})).toBeUndefined();
      expect(recorder.beginSegment('x')).toBe(NOOP_SEGMENT);
      expect(recorder.capture('x', (sub) => (sub === NOOP_SUBSEGMENT ? 5 : 0))).toBe(5);
      expect(await recorder.captureSegment('x', async (seg) => (seg === NOOP_SEGMENT ? 6 : 0))).toBe(6);
      // Code written against the API runs unchanged: the no-op entities take every call.
      expect(recorder.currentSegment()).toBe(NOOP_SEGMENT);
      recorder.currentSegment()!.putAnnotation('a', 1);
      recorder.currentSubsegment()!.putMetadata('m', 1);
      expect(NOOP_SEGMENT.annotations).toBeUndefined();
      recorder.putAnnotation('a', 1);
      recorder.endSegment();
      expect(recorder.isSampled()).toBe(false);
      expect(emitter.documents).toEqual([]);
      expect(recorder.stats().problems).toEqual({});
    });

    it('should not need a tracing name when disabled by the option', () => {
      expect(() => new Recorder().configure({ AWS_XRAY_SDK_ENABLED: false })).not.toThrow();
    });
  });

  it('should warn once and trace nothing before configure()', () => {
    const warn: string[] = [];
    diag.setLogger({ warn: (m: string) => warn.push(m), error: () => {} });
    const fresh = new Recorder();
    expect(fresh.captureSegment('x', () => 1)).toBe(1);
    expect(fresh.beginSegment('y')).toBe(NOOP_SEGMENT);
    expect(warn).toEqual([expect.stringContaining('no recorder is configured, so nothing is traced')]);
    diag.setLogger(undefined);
  });
});
