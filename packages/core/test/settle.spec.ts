import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { diag } from '../src/diag.js';
import { InMemoryEmitter, Recorder } from '../src/index.js';

type Doc = { name: string; id: string; start_time: number; end_time: number; fault?: boolean; in_progress: boolean; cause?: unknown; subsegments?: Doc[] };

/**
 * A lazy query builder in the style of knex or a Mongoose `Query`: chainable methods, and the query
 * runs only when someone calls `then` (an `await`), each time it is called.
 */
class LazyQuery {
  readonly steps: string[] = [];
  runs = 0;
  constructor(private readonly recorder: Recorder, private readonly fail = false) {}
  where(condition: string): this {
    this.steps.push(condition);
    return this;
  }
  then<T>(onFulfilled?: (rows: string[]) => T, onRejected?: (error: unknown) => T): Promise<T> {
    this.runs++;
    const run = this.recorder.capture('driver-query', async () => {
      await sleep(3);
      if (this.fail) throw new Error('syntax error');
      return this.steps;
    });
    return run.then(onFulfilled, onRejected);
  }
}

describe('results that settle later', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;

  beforeEach(() => {
    diag.reset();
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'settle', EMITTER: emitter, SAMPLING: false, LOGGER: false });
  });
  afterEach(() => recorder.shutdown());

  const only = (): Doc => emitter.documents[0] as unknown as Doc;

  describe('thenables', () => {
    it('should return the very object, unrun, and span the work when it is awaited', async () => {
      let query!: LazyQuery;
      await recorder.captureSegment('request', async () => {
        const returned = recorder.capture('repo.find', () => (query = new LazyQuery(recorder)).where('a = 1'));
        expect(returned).toBe(query);
        expect(returned).toBeInstanceOf(LazyQuery);
        expect(query.runs).toBe(0); // not run eagerly
        // The chain goes on as without tracing, then runs once, where it is awaited.
        const rows = await returned.where('b = 2');
        expect(rows).toEqual(['a = 1', 'b = 2']);
      });
      expect(query.runs).toBe(1);
      const [find] = only().subsegments!;
      expect(find.name).toBe('repo.find');
      // The query the thenable started is inside it, and it closed when the query settled.
      expect(find.subsegments!.map((s) => s.name)).toEqual(['driver-query']);
      expect(find.end_time).toBeGreaterThanOrEqual(find.subsegments![0].end_time);
      expect(find.end_time - find.start_time).toBeGreaterThan(0.002);
      // The object is as it was: `then` is the class's again.
      expect(Object.hasOwn(query, 'then')).toBe(false);
    });

    it('should record the rejection of a thenable and pass it on unchanged', async () => {
      let error: unknown;
      await recorder.captureSegment('request', async () => {
        try {
          await recorder.capture('repo.bad', () => new LazyQuery(recorder, true));
        } catch (e) {
          error = e;
        }
      });
      expect((error as Error).message).toBe('syntax error');
      expect(only().subsegments![0]).toMatchObject({ name: 'repo.bad', fault: true, in_progress: false });
    });

    it('should keep extra properties and symbols of a PrismaPromise-like object it does not run', async () => {
      const prismaLike = {
        [Symbol.toStringTag]: 'PrismaPromise',
        requestTransaction: () => 'batched',
        then: (resolve: (v: string) => void) => resolve('ran'),
      };
      const returned = recorder.captureSegment('request', () => recorder.capture('prisma', () => prismaLike));
      expect(returned).toBe(prismaLike);
      expect(Object.prototype.toString.call(returned)).toBe('[object PrismaPromise]');
      expect(returned.requestTransaction()).toBe('batched');
      expect(await returned).toBe('ran');
    });

    it('should chain native promises and keep their value', async () => {
      const value = await recorder.captureSegment('request', () => recorder.capture('p', async () => 7));
      expect(value).toBe(7);
      expect(only().subsegments![0]).toMatchObject({ name: 'p', in_progress: false });
    });

    it('should pass a thenable whose then throws synchronously through, as untraced, and record it', async () => {
      const hostile = {
        then() {
          throw new Error('then exploded');
        },
      };
      let returned: unknown;
      expect(() => {
        returned = recorder.captureSegment('request', () => recorder.capture('hostile', () => hostile));
      }).not.toThrow();
      expect(returned).toBe(hostile);
      await expect(Promise.resolve().then(() => returned)).rejects.toThrow('then exploded');
      expect(only().subsegments![0]).toMatchObject({ name: 'hostile', fault: true });
    });

    it('should not throw when reading `then` throws, and return the value untouched', () => {
      const hostile = new Proxy({}, { get: () => { throw new Error('trap'); } });
      expect(recorder.captureSegment('request', () => recorder.capture('proxy', () => hostile))).toBe(hostile);
      expect(only().subsegments![0]).toMatchObject({ name: 'proxy', in_progress: false });
    });
  });

  describe('generators', () => {
    function* numbers(rec: Recorder): Generator<number> {
      for (let i = 0; i < 3; i++) yield rec.capture(`item-${i}`, () => i);
    }
    async function* pages(rec: Recorder): AsyncGenerator<number> {
      for (let i = 0; i < 3; i++) {
        yield await rec.capture(`page-${i}`, async () => {
          await sleep(2);
          return i;
        });
      }
    }

    it('should span a sync iteration to its end, with the work done while iterating inside', () => {
      const seen = recorder.captureSegment('request', () => {
        const generator = recorder.capture('numbers', () => numbers(recorder));
        return [...generator];
      });
      expect(seen).toEqual([0, 1, 2]);
      const [sub] = only().subsegments!;
      expect(sub).toMatchObject({ name: 'numbers', in_progress: false });
      expect(sub.subsegments!.map((s) => s.name)).toEqual(['item-0', 'item-1', 'item-2']);
    });

    it('should span an async iteration, close on return (break) and record a throw', async () => {
      const seen: number[] = [];
      await recorder.captureSegment('request', async () => {
        for await (const page of recorder.capture('pages', () => pages(recorder))) {
          seen.push(page);
        }
        for await (const page of recorder.capture('first-page', () => pages(recorder))) {
          seen.push(page);
          break;
        }
        const failing = recorder.capture('failing', () => pages(recorder));
        await failing.next();
        await expect(failing.throw(new Error('consumer gave up'))).rejects.toThrow('consumer gave up');
      });
      expect(seen).toEqual([0, 1, 2, 0]);
      const subs = only().subsegments!;
      expect(subs.map((s) => [s.name, s.in_progress, (s.subsegments ?? []).length])).toEqual([
        ['pages', false, 3],
        ['first-page', false, 1],
        ['failing', false, 1],
      ]);
      expect(subs[2].fault).toBe(true);
      // The subsegment spans the iteration, not only the call that made the generator.
      expect(subs[0].end_time - subs[0].start_time).toBeGreaterThan(0.005);
    });
  });
});
