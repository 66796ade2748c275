import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { diag } from '../src/diag.js';
import { InMemoryEmitter, prepareAnnotations, Recorder, Segment, Subsegment } from '../src/index.js';
import { toJsonSafe } from '../src/json-safe.js';
import { sanitizeName } from '../src/names.js';
import { validateSegmentDocument } from './support/conformance.js';

function roundTrip(entity: Segment): Record<string, unknown> {
  return JSON.parse(JSON.stringify(entity)) as Record<string, unknown>;
}

describe('Segment and Subsegment', () => {
  beforeEach(() => diag.setLogger(false));
  afterEach(() => diag.reset());

  describe('#name', () => {
    it('should remove characters the schema rejects and keep the rest', () => {
      expect(sanitizeName('orders (v2)!*?;$~^<>', 'x')).toBe('orders v2');
      expect(sanitizeName('[::1]:3000', 'x')).toBe('::1:3000');
      expect(sanitizeName('名前 service_1.example.com/@a=b+c&d#e%', 'x')).toBe('名前 service_1.example.com/@a=b+c&d#e%');
    });

    it('should cut names to 200 characters and fall back when nothing is left', () => {
      expect(sanitizeName('a'.repeat(300), 'x')).toHaveLength(200);
      expect(sanitizeName('名'.repeat(300), 'x')).toBe('名'.repeat(200));
      expect(sanitizeName('😀', 'x')).toBe('x');
      expect(sanitizeName('***', 'fallback')).toBe('fallback');
      const doc = roundTrip(new Segment('()'));
      expect(doc.name).toBe('segment');
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });
  });

  describe('#fields', () => {
    it('should write a closed segment with every field the schema knows, and validate', () => {
      const seg = new Segment('orders', { parentId: '53995c3f42cd8ad8', aws: { xray: { sdk: 'xrayjs' } }, service: { runtime: 'node' }, origin: 'AWS::EC2::Instance' });
      seg.setHttpRequest({ method: 'GET', url: 'http://x/orders?id=1', client_ip: '10.0.0.1', user_agent: 'curl', x_forwarded_for: true });
      seg.setHttpResponse({ status: 200, content_length: 12 });
      seg.putAnnotation('order_id', 'o-1');
      seg.putMetadata('debug', { a: 1 });
      seg.setUser('alice');
      const sub = new Subsegment('db', seg, { namespace: 'remote' });
      sub.setSql({ url: 'postgres://db/orders', sanitized_query: 'SELECT 1', database_type: 'PostgreSQL' });
      sub.close();
      seg.close();
      const doc = roundTrip(seg);
      expect(doc).toMatchObject({
        name: 'orders',
        parent_id: '53995c3f42cd8ad8',
        in_progress: false,
        http: { request: { method: 'GET', url: 'http://x/orders?id=1', client_ip: '10.0.0.1', user_agent: 'curl', x_forwarded_for: true }, response: { status: 200, content_length: 12 } },
        annotations: { order_id: 'o-1' },
        metadata: { default: { debug: { a: 1 } } },
        user: 'alice',
        origin: 'AWS::EC2::Instance',
        subsegments: [{ name: 'db', namespace: 'remote', in_progress: false, sql: { sanitized_query: 'SELECT 1' } }],
      });
      expect(doc.id).toMatch(/^[0-9a-f]{16}$/);
      expect(doc.trace_id).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      expect(doc.end_time as number).toBeGreaterThanOrEqual(doc.start_time as number);
      expect(Number.isInteger((doc.start_time as number) * 1000)).toBe(false);
      expect(doc).not.toHaveProperty('fault');
      expect(validateSegmentDocument(doc)).toEqual({ valid: true, errors: null });
    });

    it('should serialize() to what JSON.stringify() gives, nested and standalone, times to the microsecond', () => {
      const seg = new Segment('orders "quoted" é', { parentId: '53995c3f42cd8ad8', aws: { xray: { sdk: 'x' } }, service: { runtime: 'node' }, origin: 'AWS::ECS::Container' });
      seg.setHttpRequest({ method: 'GET', url: 'http://x/?q="\\n"', client_ip: '1.2.3.4' });
      seg.putAnnotation('a', 'line\nbreak');
      seg.putMetadata('m', { nested: [1, 'two', null] });
      seg.setUser('bob');
      seg.addError(new Error('bad "thing"'));
      const sub = new Subsegment('child', seg, { namespace: 'remote' });
      sub.setSql({ sanitized_query: 'SELECT "x"' });
      sub.traced = true;
      const grandchild = new Subsegment('grandchild', sub);
      grandchild.close();
      sub.close();
      seg.setHttpResponse({ status: 503 });
      // Same document; the text differs only in how times are written (always six decimals).
      const same = (text: string, value: unknown) => {
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(text.replace(/"(start|end)_time":[0-9.]+/g, '')).toBe(JSON.stringify(value).replace(/"(start|end)_time":[0-9.]+/g, ''));
      };
      same(seg.serialize(), seg); // open segment
      seg.close();
      same(seg.serialize(), seg);
      same(sub.serialize(true), sub.toStandaloneJSON());
      expect(seg.serialize()).toMatch(/"start_time":\d+\.\d{6},/);
      expect(seg.serialize()).toMatch(/"end_time":\d+\.\d{6},/);
    });

    it('should mark an open segment in progress without end_time', () => {
      const doc = roundTrip(new Segment('s'));
      expect(doc.in_progress).toBe(true);
      expect(doc).not.toHaveProperty('end_time');
    });

    it('should cut http strings to the schema limit of 250', () => {
      const seg = new Segment('s');
      seg.setHttpRequest({ url: 'http://x/' + 'a'.repeat(1000), user_agent: 'u'.repeat(300) });
      const doc = roundTrip(seg);
      expect((doc.http as { request: { url: string } }).request.url).toHaveLength(250);
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });
  });

  describe('#applyStatusCode()', () => {
    it.each([
      [200, {}],
      [302, {}],
      [400, { error: true }],
      [404, { error: true }],
      [429, { error: true, throttle: true }],
      [500, { fault: true }],
      [503, { fault: true }],
    ])('status %i sets %j', (status, flags) => {
      const seg = new Segment('s');
      seg.setHttpResponse({ status });
      const doc = roundTrip(seg);
      expect({ fault: doc.fault, error: doc.error, throttle: doc.throttle }).toEqual({ fault: undefined, error: undefined, throttle: undefined, ...flags });
    });
  });

  describe('#putAnnotation()', () => {
    it('should keep valid keys and values and drop the rest with a warning, never throwing', () => {
      const warn = jest.fn();
      diag.setLogger({ warn, error: jest.fn() });
      const seg = new Segment('s');
      seg.putAnnotation('ok_1', 'v');
      seg.putAnnotation('n', 1.5);
      seg.putAnnotation('b', false);
      seg.putAnnotation('bad-key', 'v');
      seg.putAnnotation('', 'v');
      seg.putAnnotation('k'.repeat(501), 'v');
      seg.putAnnotation('obj', { a: 1 } as never);
      seg.putAnnotation('nan', Number.NaN);
      seg.putAnnotation('inf', Infinity);
      seg.putAnnotation('nul', null as never);
      seg.putAnnotation(42 as never, 'v');
      const doc = roundTrip(seg);
      expect(doc.annotations).toEqual({ ok_1: 'v', n: 1.5, b: false });
      expect(warn).toHaveBeenCalled();
      expect(diag.counts.get('annotation_key_invalid')).toBe(4);
      expect(diag.counts.get('annotation_value_invalid')).toBe(4);
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });

    it('should cut long strings to 1000 characters and stop at 50 annotations', () => {
      const seg = new Segment('s');
      seg.putAnnotation('long', 'x'.repeat(5000));
      for (let i = 0; i < 60; i++) seg.putAnnotation(`k${i}`, i);
      seg.putAnnotation('long', 'replaced');
      const doc = roundTrip(seg);
      const annotations = doc.annotations as Record<string, unknown>;
      expect(Object.keys(annotations)).toHaveLength(50);
      expect(annotations.long).toBe('replaced');
      expect(annotations.k48).toBe(48);
      expect(annotations).not.toHaveProperty('k49');
      expect(diag.counts.get('annotation_limit')).toBe(11);
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });
  });

  describe('#putAnnotations() with prepared annotations', () => {
    const route = () => prepareAnnotations({ http_route: '/orders/:id', nest_controller: 'Orders', nest_handler: 'find' })!;

    it('should put the same document text as putAnnotation one by one', () => {
      const prepared = route();
      const one = new Segment('s', { id: '0000000000000001', traceId: '1-00000000-000000000000000000000001', startTime: 1 });
      const other = new Segment('s', { id: '0000000000000001', traceId: '1-00000000-000000000000000000000001', startTime: 1 });
      one.putAnnotations(prepared);
      for (const [k, v] of Object.entries(prepared.values)) other.putAnnotation(k, v);
      expect(one.serialize()).toBe(other.serialize());
      expect(validateSegmentDocument(roundTrip(one)).valid).toBe(true);
    });

    it('should give an entity its own copy once its annotations are read, so that no change reaches another', () => {
      const prepared = route();
      const a = new Segment('a');
      const b = new Segment('b');
      a.putAnnotations(prepared);
      b.putAnnotations(prepared);
      a.annotations!.tenant = 'acme';
      a.putAnnotation('extra', 1);
      expect(roundTrip(a).annotations).toEqual({ http_route: '/orders/:id', nest_controller: 'Orders', nest_handler: 'find', tenant: 'acme', extra: 1 });
      expect(roundTrip(b).annotations).toEqual({ http_route: '/orders/:id', nest_controller: 'Orders', nest_handler: 'find' });
      expect(prepared.values).toEqual({ http_route: '/orders/:id', nest_controller: 'Orders', nest_handler: 'find' });
      // Assigning the field replaces them.
      b.annotations = { only: true };
      expect(roundTrip(b).annotations).toEqual({ only: true });
    });

    it('should count them against the 50 annotations X-Ray keeps, and merge into annotations already there', () => {
      const seg = new Segment('s');
      seg.putAnnotation('first', 'x');
      seg.putAnnotations(route());
      for (let i = 0; i < 60; i++) seg.putAnnotation(`k${i}`, i);
      const annotations = roundTrip(seg).annotations as Record<string, unknown>;
      expect(Object.keys(annotations)).toHaveLength(50);
      expect(annotations).toMatchObject({ first: 'x', http_route: '/orders/:id', k45: 45 });
      expect(annotations).not.toHaveProperty('k46');
      const fresh = new Segment('t');
      fresh.putAnnotations(route());
      for (let i = 0; i < 60; i++) fresh.putAnnotation(`k${i}`, i);
      expect(Object.keys(roundTrip(fresh).annotations as object)).toHaveLength(50);
    });

    it('should not prepare what putAnnotation would drop or cut, and be ignored by an unsampled segment', () => {
      expect(prepareAnnotations({ 'bad-key': 'v' })).toBeUndefined();
      expect(prepareAnnotations({ long: 'x'.repeat(1001) })).toBeUndefined();
      expect(prepareAnnotations({ n: Number.NaN })).toBeUndefined();
      expect(prepareAnnotations(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])))).toBeUndefined();
      const unsampled = new Segment('u', { sampled: false });
      unsampled.putAnnotations(route());
      expect(unsampled.annotations).toBeUndefined();
    });
  });

  describe('#putMetadata()', () => {
    it('should turn any value JSON-safe so that serialization never throws', () => {
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      const err = new TypeError('boom', { cause: new Error('root') });
      const throwing = { get bad(): string { throw new Error('getter'); }, ok: 1 };
      const seg = new Segment('s');
      seg.putMetadata('circular', circular);
      seg.putMetadata('big', 10n ** 30n);
      seg.putMetadata('fn', function named() {});
      seg.putMetadata('err', err);
      seg.putMetadata('map', new Map<unknown, unknown>([['a', 1], [2, new Set([1, 2])]]));
      seg.putMetadata('date', new Date(0));
      seg.putMetadata('buf', Buffer.alloc(1024));
      seg.putMetadata('throwing', throwing);
      seg.putMetadata('undef', undefined);
      seg.putMetadata('sym', Symbol('s'), 'other');
      seg.putMetadata('x', 1, 'AWS.reserved');
      const doc = roundTrip(seg);
      const md = doc.metadata as Record<string, Record<string, unknown>>;
      expect(md.default.circular).toEqual({ name: 'loop', self: '[Circular]' });
      expect(md.default.big).toBe('1000000000000000000000000000000');
      expect(md.default.fn).toBe('[Function named]');
      expect(md.default.err).toMatchObject({ name: 'TypeError', message: 'boom', cause: { name: 'Error', message: 'root' } });
      expect(md.default.map).toEqual({ a: 1, '2': [1, 2] });
      expect(md.default.date).toBe('1970-01-01T00:00:00.000Z');
      expect(md.default.buf).toBe('[Buffer 1024 bytes]');
      expect(md.default.throwing).toEqual({ bad: '[Unserializable]', ok: 1 });
      expect(md.default).not.toHaveProperty('undef');
      expect(md.other.sym).toBe('Symbol(s)');
      expect(md).not.toHaveProperty('AWS.reserved');
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });

    it('should copy the value when it is put (later changes are not seen)', () => {
      const value = { n: 1 };
      const seg = new Segment('s');
      seg.putMetadata('v', value);
      value.n = 2;
      expect(toJsonSafe(value)).toEqual({ n: 2 });
      expect((roundTrip(seg).metadata as Record<string, Record<string, unknown>>).default.v).toEqual({ n: 1 });
    });

    it('should stop at 64 levels of nesting', () => {
      let deep: Record<string, unknown> = {};
      const top = deep;
      for (let i = 0; i < 10_000; i++) deep = (deep.next = {}) as Record<string, unknown>;
      const text = JSON.stringify(toJsonSafe(top));
      expect(text.split('"next":')).toHaveLength(64 + 1);
      expect(text).toContain('[Max depth]');
    });
  });

  describe('#addError()', () => {
    function fail(): never {
      throw new RangeError('out of range');
    }

    it('should record type, message, stack frames relative to the working directory, and set fault', () => {
      const seg = new Segment('s');
      let error: unknown;
      try {
        fail();
      } catch (e) {
        error = e;
      }
      seg.addError(error);
      const doc = roundTrip(seg);
      expect(doc.fault).toBe(true);
      const cause = doc.cause as { working_directory: string; exceptions: { id: string; type: string; message: string; remote: boolean; stack: { path: string; line: number; label: string }[] }[] };
      expect(cause.working_directory).toBe(process.cwd());
      expect(cause.exceptions).toHaveLength(1);
      const [ex] = cause.exceptions;
      expect(ex).toMatchObject({ type: 'RangeError', message: 'out of range', remote: false });
      expect(ex.id).toMatch(/^[0-9a-f]{16}$/);
      expect(ex.stack[0]).toMatchObject({ path: 'test/entity.spec.ts', label: 'fail' });
      expect(ex.stack[0].line).toBeGreaterThan(0);
      expect(ex.stack.length).toBeLessThanOrEqual(10);
      // The library's own frames are left out.
      expect(ex.stack.some((f) => f.path.includes('src/entity'))).toBe(false);
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });

    it('should keep at most MAX_TRACE_BACK frames and say how many were cut', () => {
      const seg = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'x', MAX_TRACE_BACK: 2, EMITTER: new InMemoryEmitter(), SAMPLING: false }).beginSegment('s');
      const error = new Error('deep');
      error.stack = ['Error: deep', ...Array.from({ length: 8 }, (_, i) => `    at f${i} (/app/src/f${i}.js:${i + 1}:1)`)].join('\n');
      seg.addError(error);
      const ex = (roundTrip(seg).cause as { exceptions: { stack: unknown[]; truncated: number }[] }).exceptions[0];
      expect(ex.stack).toEqual([
        { path: '/app/src/f0.js', line: 1, label: 'f0' },
        { path: '/app/src/f1.js', line: 2, label: 'f1' },
      ]);
      expect(ex.truncated).toBe(6);
    });

    it('should write async and file:// frames as paths relative to the working directory, labels without async', async () => {
      const cwd = process.cwd();
      const error = new Error('async');
      error.stack = [
        'Error: async',
        `    at OrdersService.find (file://${cwd}/dist/orders.service.js:30:11)`,
        `    at async file://${cwd}/node_modules/@nestjs/core/router/router-execution-context.js:46:28`,
        `    at async OrdersController.get (${cwd}/dist/app.controller.js:12:5)`,
        '    at async Promise.all (index 0)',
        '    at new Foo (node:internal/foo:1:2)',
      ].join('\n');
      const seg = new Segment('s');
      seg.addError(error);
      const ex = (roundTrip(seg).cause as { exceptions: { stack: unknown[] }[] }).exceptions[0];
      expect(ex.stack).toEqual([
        { path: 'dist/orders.service.js', line: 30, label: 'OrdersService.find' },
        { path: 'node_modules/@nestjs/core/router/router-execution-context.js', line: 46 },
        { path: 'dist/app.controller.js', line: 12, label: 'OrdersController.get' },
        { path: 'index 0', label: 'Promise.all' },
        { path: 'node:internal/foo', line: 1, label: 'new Foo' },
      ]);
      // A real async stack from V8.
      const inner = async () => {
        await null;
        throw new Error('deep');
      };
      const outer = async () => {
        await inner();
      };
      const real = await outer().catch((e: unknown) => e);
      const seg2 = new Segment('s2');
      seg2.addError(real);
      const frames = (roundTrip(seg2).cause as { exceptions: { stack: { path: string; label?: string }[] }[] }).exceptions[0].stack;
      expect(frames[0]).toMatchObject({ path: 'test/entity.spec.ts', label: 'inner' });
      expect(frames.find((f) => f.label === 'outer')).toMatchObject({ path: 'test/entity.spec.ts' });
      for (const f of frames) expect(f.path.startsWith('async') || f.label?.startsWith('async') === true).toBe(false);
    });

    it('should reference an exception a child already recorded by its id', () => {
      const seg = new Segment('s');
      const sub = new Subsegment('child', seg);
      const error = new Error('once');
      sub.addError(error);
      sub.close();
      seg.addError(error);
      const doc = roundTrip(seg);
      const childCause = (doc.subsegments as { cause: { exceptions: { id: string }[] } }[])[0].cause;
      expect(doc.cause).toBe(childCause.exceptions[0].id);
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });

    it('should write an error shared by two traces in full in each, never as a reference into the other', async () => {
      // A cached rejection, a constant error and an AbortSignal.timeout() reason, awaited by two requests.
      const cached = Promise.reject(new Error('backend down'));
      cached.catch(() => {});
      const constant = new TypeError('not allowed');
      const signal = AbortSignal.timeout(1);
      await new Promise((r) => setTimeout(r, 10));
      for (const shared of [() => cached, () => Promise.reject(constant), () => Promise.reject(signal.reason)]) {
        const emitter = new InMemoryEmitter();
        const rec = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'x', EMITTER: emitter, SAMPLING: false, LOGGER: false });
        for (const request of ['first', 'second']) {
          await rec.captureSegment(request, () => rec.capture('call', shared)).catch(() => {});
        }
        const docs = emitter.documents as { name: string; cause: unknown; subsegments: { cause: { exceptions: { id: string; message: string }[] } }[] }[];
        expect(docs.map((d) => d.name)).toEqual(['first', 'second']);
        for (const doc of docs) {
          // Within one trace: the subsegment holds the exception, the segment refers to it.
          const exception = doc.subsegments[0].cause.exceptions[0];
          expect(exception.message).toBeTruthy();
          expect(doc.cause).toBe(exception.id);
          expect(validateSegmentDocument(doc).valid).toBe(true);
        }
        expect(docs[0].subsegments[0].cause.exceptions[0].id).not.toBe(docs[1].subsegments[0].cause.exceptions[0].id);
      }
    });

    it('should follow the Error.cause chain and record thrown non-errors', () => {
      const seg = new Segment('s');
      seg.addError(new Error('outer', { cause: new TypeError('inner') }), { remote: true, flag: 'error' });
      seg.addError('a string');
      seg.addError({ code: 42 });
      const doc = roundTrip(seg);
      const ex = (doc.cause as { exceptions: { id: string; type: string; message: string; cause?: string; remote: boolean }[] }).exceptions;
      expect(ex.map((e) => [e.type, e.message, e.remote])).toEqual([
        ['Error', 'outer', true],
        ['TypeError', 'inner', false],
        ['string', 'a string', false],
        ['object', '{"code":42}', false],
      ]);
      expect(ex[0].cause).toBe(ex[1].id);
      expect(doc.error).toBe(true);
      expect(validateSegmentDocument(doc).valid).toBe(true);
    });

    it('should not touch the stack of an error that is never recorded', () => {
      let read = 0;
      const error = new Error('x');
      const stack = error.stack;
      Object.defineProperty(error, 'stack', { get: () => { read++; return stack; } });
      const seg = new Segment('s');
      const sub = new Subsegment('ok', seg);
      sub.putAnnotation('a', 1);
      sub.close();
      seg.close();
      JSON.stringify(seg);
      expect(read).toBe(0);
    });
  });
});
