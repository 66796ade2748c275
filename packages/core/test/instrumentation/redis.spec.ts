import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

import { diag } from '../../src/diag.js';
import { InMemoryEmitter, Recorder } from '../../src/index.js';
import { keyCount } from '../../src/instrumentation/redis/redis-call.js';
import { validateSegmentDocument } from '../support/conformance.js';
import { subsegmentsOf } from '../support/documents.js';
import { externalService, leakedValues } from '../support/services.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Keys and values the tests write: none may appear in a document. */
const KEY = `xrayjs:user:alice@example.org:${process.pid}`;
const SECRETS = ['alice@example.org', 's3cret-session-value-4711', 'card-4111-1111'];
const service = await externalService('Redis', 'REDIS', 6379);

describe('the key count of a command', () => {
  it('counts keys from the command and the number of its arguments', () => {
    expect(keyCount('GET', ['k'])).toBe(1);
    expect(keyCount('MGET', ['a', 'b', 'c'])).toBe(3);
    expect(keyCount('MSET', ['a', '?', 'b', '?'])).toBe(2);
    expect(keyCount('EVAL', ['return 1', '2', 'k1', 'k2', 'arg'])).toBe(2);
    expect(keyCount('EVAL', ['return 1', '9', 'k1'])).toBe(1);
    expect(keyCount('BLPOP', ['a', 'b', '0'])).toBe(2);
    expect(keyCount('PING', [])).toBe(0);
    expect(keyCount('SET', ['k', '?', 'EX', '10'])).toBe(1);
  });
});

(service.missing === undefined ? describe : describe.skip)('Redis clients, against Redis', () => {
  let emitter: InMemoryEmitter;
  let recorder: Recorder;
  const all: Doc[] = [];

  async function start(): Promise<void> {
    emitter = new InMemoryEmitter();
    recorder = new Recorder().configure({ AWS_XRAY_TRACING_NAME: 'redis-caller', EMITTER: emitter, SAMPLING: false, LOGGER: false });
    await recorder.ready();
  }
  afterEach(async () => {
    all.push(...(emitter?.documents ?? []));
    await recorder?.shutdown();
    diag.reset();
  });
  const subs = (): (Doc & { parentId: string })[] => subsegmentsOf(emitter.documents as Doc[]);
  const redisMeta = (): Doc[] => subs().map((s) => ({ name: s.name, namespace: s.namespace, ...s.metadata?.redis, fault: s.fault }));

  describe('ioredis', () => {
    async function client(): Promise<Redis> {
      const redis = new Redis({ host: service.host, port: service.port, lazyConnect: true });
      await redis.connect();
      return redis;
    }

    it('records each command as redis@<host> with its name and key count, never a key or a value', async () => {
      await start();
      const redis = await client();
      const got = await recorder.captureSegment('request', async () => {
        await redis.set(KEY, SECRETS[1], 'EX', 60);
        const value = await redis.get(KEY);
        await redis.mget(KEY, `${KEY}:b`, `${KEY}:c`);
        await redis.del(KEY);
        return value;
      });
      redis.disconnect();
      expect(got).toBe(SECRETS[1]);
      const host = service.host;
      expect(redisMeta()).toEqual([
        { name: `redis@${host}`, namespace: 'remote', command: 'SET', key_count: 1, database: 0, fault: undefined },
        { name: `redis@${host}`, namespace: 'remote', command: 'GET', key_count: 1, database: 0, fault: undefined },
        { name: `redis@${host}`, namespace: 'remote', command: 'MGET', key_count: 3, database: 0, fault: undefined },
        { name: `redis@${host}`, namespace: 'remote', command: 'DEL', key_count: 1, database: 0, fault: undefined },
      ]);
      expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    });

    it('makes a pipeline and a multi one subsegment each with the command count, and nests them where they run', async () => {
      await start();
      const redis = await client();
      const results = await recorder.captureSegment('request', async () => {
        const piped = await recorder.capture('warmCache', () => redis.pipeline().set(KEY, SECRETS[2]).get(KEY).incr(`${KEY}:n`).exec());
        const multi = await redis.multi().get(KEY).del(KEY, `${KEY}:n`).exec();
        return { piped, multi };
      });
      redis.disconnect();
      expect(results.piped).toEqual([[null, 'OK'], [null, SECRETS[2]], [null, 1]]);
      expect(results.multi).toEqual([[null, SECRETS[2]], [null, 2]]);
      const list = subs();
      expect(list.map((s) => s.metadata?.redis ?? s.name)).toEqual(['warmCache', { operation: 'PIPELINE', command_count: 3, database: 0 }, { operation: 'MULTI', command_count: 2, database: 0 }]);
      expect(list[1].parentId).toBe(list[0].id);
      expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    });

    it('records a command error as a fault with the server\u2019s message; the caller gets the same error', async () => {
      await start();
      const redis = await client();
      const error = await recorder.captureSegment('request', async () => {
        await redis.set(KEY, SECRETS[1]);
        const e = await redis.lpush(KEY, 'x').catch((err: unknown) => err as Error);
        await redis.del(KEY);
        return e;
      });
      redis.disconnect();
      expect((error as Error).name).toBe('ReplyError');
      const failed = subs().filter((s) => s.fault === true);
      expect(failed).toHaveLength(1);
      expect(failed[0].cause.exceptions[0]).toMatchObject({ message: expect.stringMatching(/^WRONGTYPE/), remote: true });
      expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    });

    it('records nothing for an unsampled request', async () => {
      await start();
      const redis = await client();
      expect(await recorder.captureSegment('unsampled', () => redis.ping(), { sampled: false })).toBe('PONG');
      redis.disconnect();
      expect(emitter.documents).toHaveLength(0);
    });
  });

  describe('node-redis', () => {
    const newClient = () => createClient({ socket: { host: service.host, port: service.port } });
    async function client(): Promise<ReturnType<typeof newClient>> {
      const redis = newClient();
      await redis.connect();
      return redis;
    }

    it('records commands, a pipeline (multi().execAsPipeline) and a multi with their counts', async () => {
      await start();
      const redis = await client();
      const got = await recorder.captureSegment('request', async () => {
        await redis.set(KEY, SECRETS[1]);
        const value = await redis.get(KEY);
        const [piped, multi] = await Promise.all([
          redis.multi().get(KEY).exists([KEY, `${KEY}:x`]).execAsPipeline(),
          redis.multi().incr(`${KEY}:n`).del([KEY, `${KEY}:n`]).exec(),
        ]);
        return { value, piped, multi };
      });
      redis.destroy();
      expect(got).toEqual({ value: SECRETS[1], piped: [SECRETS[1], 1], multi: [1, 2] });
      const host = service.host;
      expect(redisMeta()).toEqual([
        { name: `redis@${host}`, namespace: 'remote', command: 'SET', key_count: 1, database: 0, fault: undefined },
        { name: `redis@${host}`, namespace: 'remote', command: 'GET', key_count: 1, database: 0, fault: undefined },
        { name: `redis@${host}`, namespace: 'remote', operation: 'PIPELINE', command_count: 2, database: 0, fault: undefined },
        { name: `redis@${host}`, namespace: 'remote', operation: 'MULTI', command_count: 2, database: 0, fault: undefined },
      ]);
      const segmentId = (emitter.documents[0] as Doc).id;
      for (const sub of subs()) expect(sub.parentId).toBe(segmentId);
      expect(leakedValues(emitter.documents, SECRETS)).toEqual([]);
    });

    it('records a command error as a remote fault, the caller getting the same error', async () => {
      await start();
      const redis = await client();
      const error = await recorder.captureSegment('request', async () => {
        await redis.set(KEY, SECRETS[1]);
        const e = await redis.lPush(KEY, 'x').catch((err: unknown) => err as Error);
        await redis.del(KEY);
        return e;
      });
      redis.destroy();
      expect((error as Error).message).toMatch(/^WRONGTYPE/);
      const failed = subs().filter((s) => s.fault === true);
      expect(failed.map((s) => s.metadata.redis.command)).toEqual(['LPUSH']);
      expect(failed[0].cause.exceptions[0].remote).toBe(true);
    });
  });

  it('leaves no key or value in any document of the suite, and every document is schema-valid', () => {
    expect(all.length).toBeGreaterThan(3);
    expect(leakedValues(all, SECRETS)).toEqual([]);
    for (const doc of all) expect(validateSegmentDocument(doc).errors).toBeNull();
  });
});
