import { types } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { diag } from '../src/diag.js';
import { InMemoryEmitter, NOOP_SEGMENT, Recorder, type Segment, Subsegment, TraceHeader, toJsonSafe } from '../src/index.js';
import { validateSegmentDocument } from './support/conformance.js';

/** A small deterministic PRNG (mulberry32), so that a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const throwing = (): never => {
  throw new Error('hostile');
};

/** Values that have broken tracing libraries: prototype keys, throwing traps and getters, cycles, junk. */
function hostileValues(): unknown[] {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const getterThrows = Object.defineProperty({}, 'x', { enumerable: true, get: throwing });
  return [
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '',
    'a'.repeat(5000),
    'line\r\nInjected: yes',
    '\u0000\u0007\u001b',
    '\ud800',
    '😀',
    NaN,
    Infinity,
    -0,
    1e308,
    10n,
    Symbol('s'),
    null,
    undefined,
    true,
    () => 1,
    cyclic,
    Object.create(null),
    JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
    new Map<unknown, unknown>([['__proto__', { polluted: 1 }], [{}, 1]]),
    new Set([1, cyclic]),
    new Date(NaN),
    new Uint8Array(4),
    // eslint-disable-next-line no-sparse-arrays -- a sparse array is one of the hostile values
    [1, , 3],
    new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getPrototypeOf: throwing, getOwnPropertyDescriptor: throwing }),
    revocable.proxy,
    { toString: throwing, valueOf: throwing, toJSON: throwing },
    getterThrows,
    { then: throwing },
    Object.defineProperty({}, 'then', { get: throwing }),
    new Error('plain'),
    Object.assign(new Error('with cause'), { cause: { toString: throwing } }),
    Object.defineProperty(new Error('bad stack'), 'stack', { get: throwing }),
  ];
}

/** What must not change: the prototypes and globals a pollution would reach. */
function globalsSnapshot(): string {
  const keys = (o: object) => Reflect.ownKeys(o).map(String).sort().join(',');
  return [Object.prototype, Object, Array.prototype, Function.prototype, String.prototype, globalThis].map(keys).join('|');
}

describe('hostile input', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  beforeEach(() => {
    diag.reset();
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'hostile', EMITTER: emitter, SAMPLING: false, LOGGER: false, STREAMING_THRESHOLD: 5 });
  });
  afterEach(() => recorder.shutdown());

  describe('prototype pollution', () => {
    it('should never set a prototype through annotation, metadata, aws or header keys', () => {
      const before = globalsSnapshot();
      recorder.captureSegment('s', (segment) => {
        segment.putMetadata('polluted', true, '__proto__');
        segment.putMetadata('polluted', true, 'constructor');
        segment.putMetadata('__proto__', { polluted: true });
        segment.putMetadata('toString', 'fine');
        segment.putAnnotation('__proto__', 'x');
        segment.putAnnotation('constructor', 'kept');
        segment.setAwsField('__proto__', { polluted: true });
        segment.putMetadata('parsed', JSON.parse('{"__proto__":{"polluted":true}}'));
        recorder.capture('c', (sub) => sub.setAws(JSON.parse('{"__proto__":{"polluted":true},"operation":"Get"}')));
      });
      const header = TraceHeader.fromString('Root=1-5759e988-bd862e3fe1be46a994272793;__proto__=x;constructor=y');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object as unknown as Record<string, unknown>).polluted).toBeUndefined();
      expect(globalsSnapshot()).toBe(before);
      const doc = emitter.documents[0] as Record<string, Record<string, unknown>>;
      expect(doc.annotations).toEqual({ constructor: 'kept' });
      expect(Object.keys(doc.metadata)).toEqual(['constructor', 'default']);
      // A `__proto__` key inside a value is kept as data, not as a prototype.
      expect(Object.getOwnPropertyNames((doc.metadata.default as Record<string, Record<string, unknown>>).parsed)).toEqual(['__proto__']);
      expect(header.extra).toEqual({ constructor: 'y' });
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });

    it('toJsonSafe keeps a __proto__ key of parsed JSON and Maps as an own field', () => {
      const copy = toJsonSafe(JSON.parse('{"__proto__":{"a":1}}')) as object;
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(JSON.stringify(copy)).toBe('{"__proto__":{"a":1}}');
      expect(JSON.stringify(toJsonSafe(new Map([['__proto__', 1]])))).toBe('{"__proto__":1}');
    });
  });

  describe('header injection', () => {
    it('should drop extra pairs that are not plain tokens, so the header is always a valid value', () => {
      const incoming = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Tenant=acme;Evil=a\r\nSet-Cookie: x=1;Ctl=\u0007;Sp ace=1;Lineage=a87bd80c:0,68fd508a:5';
      const segment = recorder.beginRequestSegment({ traceHeader: incoming })!;
      const downstream = recorder.downstreamHeader(segment)!;
      expect(downstream).toBe(`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${segment.id};Sampled=1;Tenant=acme;Lineage=a87bd80c:0,68fd508a:5`);
      // Node's own check of a header value: it must not throw.
      expect(() => new Headers({ 'x-amzn-trace-id': downstream })).not.toThrow();
      const byHand = new TraceHeader({ root: 'r\r\n', parent: 'p', sampled: '1', extra: { 'a\nb': 'c', ok: 'v\u0000' } });
      expect(byHand.toString()).toBe('Parent=p;Sampled=1');
      byHand.extra.x = 'y\r\nz';
      byHand.root = 'bad value';
      expect(byHand.toString()).toBe('Parent=p;Sampled=1');
    });
  });

  describe('never a throw into the application', () => {
    it('should drop a key whose toString throws, a Proxy whose traps throw and a throwing thenable, with one warning each', () => {
      const warnings: string[] = [];
      const rec = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'h', EMITTER: emitter, SAMPLING: false, LOGGER: { warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) } });
      const key = { toString: throwing } as unknown as string;
      const proxy = new Proxy({}, { get: throwing, ownKeys: throwing, getPrototypeOf: throwing });
      rec.captureSegment('s', () => {
        for (let i = 0; i < 3; i++) {
          expect(() => rec.putAnnotation(key, 'v')).not.toThrow();
          expect(() => rec.putMetadata('m', proxy)).not.toThrow();
          expect(() => rec.capture('t', () => ({ get then(): never { return throwing(); } }))).not.toThrow();
        }
      });
      expect(warnings).toHaveLength(3);
      expect(rec.stats().problems).toMatchObject({ annotation_key_invalid: 3, value_unserializable: 3, result_unreadable: 3 });
      void rec.shutdown();
    });

    it('should take 20,000 hostile calls of every method with 0 throws, valid documents and no global changed', async () => {
      const before = globalsSnapshot();
      const random = prng(20261202);
      const values = hostileValues();
      const pick = (): unknown => values[Math.floor(random() * values.length)];
      const any = () => pick() as never;
      const entityOrJunk = (current: Segment | Subsegment): never => (random() < 0.6 ? current : pick()) as never;
      const calls: ((current: Segment | Subsegment) => unknown)[] = [
        () => recorder.putAnnotation(any(), any()),
        () => recorder.putMetadata(any(), any(), any()),
        () => recorder.setUser(any()),
        () => recorder.addError(any(), any()),
        () => recorder.capture(any(), () => pick(), any()),
        () => recorder.capture(any(), () => Promise.resolve(pick())),
        () => recorder.captureSegment(any(), () => pick(), any()),
        () => recorder.beginSubsegment(any(), any()).close(any()),
        (c) => recorder.endSubsegment(entityOrJunk(c), any()),
        () => recorder.beginSegment(any(), any()).close(),
        () => recorder.endSegment(any(), any()),
        (c) => recorder.downstreamHeader(entityOrJunk(c)),
        (c) => recorder.runWith(entityOrJunk(c), () => recorder.currentEntity()),
        () => recorder.currentSegment()?.putAnnotation(any(), any()),
        () => recorder.currentSubsegment()?.putMetadata(any(), any()),
        () => recorder.isSampled(),
        () => recorder.recordError(any(), any(), any()),
        () => recorder.beginRequestSegment(any()),
        () => recorder.beginRequestSegment({ traceHeader: any(), host: any(), method: any(), path: any() })?.close(),
        (c) => recorder.setRequest(entityOrJunk(c), any()),
        (c) => recorder.setResponse(entityOrJunk(c), any()),
        (c) => recorder.responseTraceHeader(entityOrJunk(c)),
        (c) => c.putAnnotation(any(), any()),
        (c) => c.putMetadata(any(), any(), any()),
        (c) => c.setHttpRequest(any()),
        (c) => c.setHttpResponse(any()),
        (c) => c.applyStatusCode(any()),
        (c) => c.addError(any(), any()),
        (c) => c.segment.setUser(any()),
        (c) => c.segment.setAwsField(any(), any()),
        (c) => (c instanceof Subsegment ? c.setSql(any()) : undefined),
        (c) => (c instanceof Subsegment ? c.setAws(any()) : undefined),
        () => TraceHeader.fromString(any()).toString(),
        () => new TraceHeader(any()).toString(),
        () => toJsonSafe(pick()),
      ];
      let thrown = 0;
      const errors: unknown[] = [];
      let made = 0;
      while (made < 20_000) {
        await recorder.captureSegment('fuzz', async (segment) => {
          await recorder.capture('work', async (sub) => {
            for (let i = 0; i < 100; i++, made++) {
              const current = random() < 0.5 ? segment : sub;
              try {
                const result = recorder.runWith(current, () => calls[Math.floor(random() * calls.length)](current));
                if (types.isPromise(result)) await (result as Promise<unknown>).catch(() => {});
              } catch (e) {
                thrown++;
                if (errors.length < 5) errors.push((e as Error).stack);
              }
            }
          });
        });
      }
      expect(errors).toEqual([]);
      expect(thrown).toBe(0);
      expect(globalsSnapshot()).toBe(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(emitter.raw.length).toBeGreaterThan(200);
      for (const raw of emitter.raw) {
        const doc = JSON.parse(raw) as unknown;
        expect(validateSegmentDocument(doc).errors).toBeNull();
      }
      expect(NOOP_SEGMENT.annotations).toBeUndefined();
      expect(NOOP_SEGMENT.metadata).toBeUndefined();
    });
  });
});
