import { EventEmitter, once } from 'node:events';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { bindContext, bindEmitter } from '../src/context/bind.js';
import { diag } from '../src/diag.js';
import { InMemoryEmitter } from '../src/emitting/in-memory-emitter.js';
import { type Entity, NOOP_SUBSEGMENT, Segment } from '../src/index.js';
import { SegmentNotFoundError } from '../src/errors.js';
import { Recorder } from '../src/recorder/recorder.js';

type Doc = { name: string; id: string; parent_id?: string; trace_id?: string; subsegments?: Doc[]; annotations?: Record<string, unknown> };

describe('async context', () => {
  const emitter = new InMemoryEmitter();
  const recorder = new Recorder();

  beforeAll(() => {
    recorder.configure({ AWS_XRAY_TRACING_NAME: 'ctx', EMITTER: emitter, SAMPLING: false, LOGGER: false, STREAMING_THRESHOLD: 10_000 });
  });
  beforeEach(() => emitter.clear());
  afterAll(() => recorder.shutdown());

  it('should keep 1,000 interleaved flows apart, with nested subsegments and Promise.all siblings', async () => {
    const seen: string[] = [];
    const flow = (n: number) =>
      recorder.captureSegment(`flow-${n}`, async (segment) => {
        await sleep(n % 7);
        await recorder.capture('outer', async (outer) => {
          outer!.putAnnotation('flow', n);
          await Promise.all(
            ['a', 'b', 'c'].map((name) =>
              recorder.capture(`sibling-${name}`, async (sib) => {
                await sleep((n + name.charCodeAt(0)) % 5);
                // Every await keeps its own place in the tree.
                if (recorder.currentSubsegment() !== sib) seen.push(`flow ${n} lost ${name}`);
                if (recorder.currentSegment() !== segment) seen.push(`flow ${n} saw another segment`);
                await recorder.capture('leaf', async () => {
                  await sleep(1);
                  if (recorder.currentSubsegment()?.parent !== sib) seen.push(`flow ${n} leaf misplaced`);
                });
              }),
            ),
          );
          if (recorder.currentSubsegment() !== outer) seen.push(`flow ${n} lost outer`);
        });
        return segment!.trace_id;
      });
    const traceIds = await Promise.all(Array.from({ length: 1000 }, (_, n) => flow(n)));

    expect(seen).toEqual([]);
    expect(new Set(traceIds).size).toBe(1000);
    const docs = emitter.documents as unknown as Doc[];
    expect(docs).toHaveLength(1000);
    for (const doc of docs) {
      const n = Number(doc.name.slice(5));
      expect(doc.subsegments).toHaveLength(1);
      const outer = doc.subsegments![0];
      expect(outer.name).toBe('outer');
      expect(outer.annotations).toEqual({ flow: n });
      expect(outer.subsegments!.map((s) => s.name).sort()).toEqual(['sibling-a', 'sibling-b', 'sibling-c']);
      for (const sib of outer.subsegments!) {
        expect(sib.subsegments!.map((s) => s.name)).toEqual(['leaf']);
      }
    }
  });

  it('should follow timers, immediates and event emitters started in the flow', async () => {
    const results = await recorder.captureSegment('timers', async (segment) => {
      const found: (Entity | undefined)[] = [];
      await new Promise<void>((resolve) => setTimeout(() => { found.push(recorder.currentSegment()); resolve(); }, 5));
      await new Promise<void>((resolve) => setImmediate(() => { found.push(recorder.currentSegment()); resolve(); }));
      await new Promise<void>((resolve) => process.nextTick(() => { found.push(recorder.currentSegment()); resolve(); }));
      const ee = new EventEmitter();
      const got = once(ee, 'ping');
      ee.on('ping', () => found.push(recorder.currentSegment()));
      setTimeout(() => ee.emit('ping'), 2);
      await got;
      return { found, segment };
    });
    expect(results.found).toHaveLength(4);
    for (const s of results.found) expect(s).toBe(results.segment);
  });

  it('should follow streams piped in the flow', async () => {
    const seen: (Entity | undefined)[] = [];
    const segment = await recorder.captureSegment('streams', async (seg) => {
      await recorder.capture('pipe', async () => {
        const upper = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            seen.push(recorder.currentSegment());
            cb(null, chunk.toString().toUpperCase());
          },
        });
        const sink = new PassThrough();
        sink.resume();
        await pipeline(Readable.from(['a', 'b', 'c']), upper, sink);
      });
      return seg;
    });
    expect(seen).toHaveLength(3);
    for (const s of seen) expect(s).toBe(segment);
  });

  it('should bind emitters and functions created outside the flow', async () => {
    const shared = new EventEmitter();
    let callback: () => Entity | undefined = () => undefined;
    const segment = recorder.captureSegment('bound', (seg) => {
      bindEmitter(shared);
      shared.on('x', () => seen.push(recorder.currentSegment()));
      callback = bindContext(() => recorder.currentSegment());
      return seg;
    });
    const seen: (Entity | undefined)[] = [];
    // Emitted from outside any flow: the listener still runs in the flow that added it.
    shared.emit('x');
    expect(seen).toEqual([segment]);
    expect(callback()).toBe(segment);
  });

  it('should let bound emitters remove listeners by the function added, also once listeners', () => {
    const shared = new EventEmitter();
    const calls: string[] = [];
    const onX = () => calls.push('on');
    const onceX = () => calls.push('once');
    const prepended = () => calls.push('prepended');
    recorder.captureSegment('bind-remove', () => {
      bindEmitter(shared);
      bindEmitter(shared); // a second bind is a no-op
      shared.on('x', onX);
      shared.once('x', onceX);
      shared.prependOnceListener('x', prepended);
    });
    expect(shared.listeners('x')).toEqual([prepended, onX, onceX]);
    shared.off('x', onX);
    shared.removeListener('x', onceX);
    expect(shared.listenerCount('x')).toBe(1);
    shared.emit('x');
    shared.emit('x');
    expect(calls).toEqual(['prepended']);
    expect(shared.listenerCount('x')).toBe(0);
    // A once listener removes itself after one call, and runs in the context that added it.
    let seen: Entity | undefined;
    const segment = recorder.captureSegment('bind-once', (seg) => {
      shared.once('y', () => (seen = recorder.currentSegment()));
      return seg;
    });
    shared.emit('y');
    shared.emit('y');
    expect(seen).toBe(segment);
    expect(shared.listenerCount('y')).toBe(0);
  });

  it('should nest imperative begin/end through runWith, and never make a begun entity current by itself', () => {
    const seg = recorder.beginSegment('manual');
    expect(recorder.activeEntity()).toBeUndefined();
    const a = recorder.beginSubsegment('a', { parent: seg });
    recorder.runWith(a, () => {
      const b = recorder.beginSubsegment('b');
      expect(b.parent).toBe(a);
      expect(recorder.currentSubsegment()).toBe(a);
      recorder.endSubsegment(b);
      recorder.endSubsegment();
    });
    expect(a.closed).toBe(true);
    recorder.endSegment(seg);
    const doc = emitter.documents.at(-1) as unknown as Doc;
    expect(doc.name).toBe('manual');
    expect(doc.subsegments![0].name).toBe('a');
    expect(doc.subsegments![0].subsegments![0].name).toBe('b');
  });

  it('should not leak a segment from one request into the next', async () => {
    const a = recorder.beginRequestSegment({ method: 'GET', path: '/a' })!;
    const b = recorder.beginRequestSegment({ method: 'GET', path: '/b' })!;
    const [sa, sb] = await Promise.all([
      recorder.runWith(a, async () => { await sleep(3); return recorder.currentSegment(); }),
      recorder.runWith(b, async () => { await sleep(1); return recorder.currentSegment(); }),
    ]);
    expect(sa).toBe(a);
    expect(sb).toBe(b);
    expect(recorder.isSampled()).toBe(false);
  });
});

describe('context-missing strategies', () => {
  const emitter = new InMemoryEmitter();

  function configured(strategy: unknown, env: Record<string, string> = {}): Recorder {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'cm', EMITTER: emitter, AWS_XRAY_CONTEXT_MISSING: strategy as never });
    } finally {
      process.env = saved;
    }
  }

  beforeEach(() => diag.reset());

  it('LOG_ERROR (the default) logs once per operation, counts every time, and still runs the work', () => {
    const error = jest.fn();
    const rec = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'cm', EMITTER: emitter, LOGGER: { error, warn: jest.fn() } });
    expect(rec.capture('x', () => 42)).toBe(42);
    expect(rec.capture('x', () => 43)).toBe(43);
    expect(rec.currentSegment()).toBeUndefined();
    rec.putAnnotation('k', 'v');
    expect(error).toHaveBeenCalledTimes(3); // capture, currentSegment, currentEntity
    expect(error.mock.calls[0][0]).toContain('capture: cannot find the current segment/subsegment');
    expect(error.mock.calls[0][0]).toContain('captureSegment');
    expect(rec.stats().problems.context_missing).toBe(4);
  });

  it('RUNTIME_ERROR throws a SegmentNotFoundError that names the fix', () => {
    const rec = configured('RUNTIME_ERROR');
    expect(() => rec.capture('x', () => 1)).toThrow(SegmentNotFoundError);
    expect(() => rec.currentSegment()).toThrow(/captureSegment\(name, fn\)/);
    expect(rec.captureSegment('job', () => rec.currentSegment()?.name)).toBe('job');
  });

  it('IGNORE_ERROR is silent but counted', () => {
    const error = jest.fn();
    const rec = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'cm', EMITTER: emitter, AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR', LOGGER: { error, warn: error } });
    expect(rec.beginSubsegment('x')).toBe(NOOP_SUBSEGMENT);
    expect(error).not.toHaveBeenCalled();
    expect(rec.stats().problems.context_missing).toBe(1);
  });

  it('a user function gets the message', () => {
    const handler = jest.fn();
    const rec = configured(handler);
    rec.capture('x', () => 1);
    expect(handler).toHaveBeenCalledWith(expect.stringContaining('capture: cannot find the current segment'));
  });

  it('the environment variable wins over the option', () => {
    const rec = configured('LOG_ERROR', { AWS_XRAY_CONTEXT_MISSING: 'RUNTIME_ERROR' });
    expect(() => rec.capture('x', () => 1)).toThrow(SegmentNotFoundError);
  });

  it('an unsampled trace gives no subsegments and no complaints', () => {
    const rec = configured('RUNTIME_ERROR');
    const seg = rec.beginRequestSegment({ traceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0' })!;
    expect(seg.sampled).toBe(false);
    const value = rec.runWith(seg, () => rec.capture('x', (sub) => sub));
    expect(value).toBe(NOOP_SUBSEGMENT);
    expect(seg.subsegments).toBeUndefined();
    expect(seg).toBeInstanceOf(Segment);
  });
});
