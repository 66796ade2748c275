import { traceContext } from '../../context/trace-context.js';
import { describeValue, diag } from '../../diag.js';
import type { Subsegment } from '../../model/subsegment.js';
import type { Instrumentation } from '../instrumentation.js';
import { loadOptional, patchMethod, type MethodPatch } from '../method-patch.js';
import { callContext } from '../remote-call.js';
import { whenSettled } from '../settle.js';
import { ChannelSubscription } from '../tracing-channel.js';
import { beginBatch, beginCommand, isBatch, recordCommandError, type RedisServer } from './redis-call.js';

/** What `ioredis:command` passes (ioredis 5.10+): the command's name and its arguments, values masked. */
interface CommandMessage extends RedisServer {
  command?: unknown;
  args?: unknown;
}

/** What `ioredis:batch` passes for a `multi()` transaction. */
interface BatchMessage extends RedisServer {
  batchMode?: unknown;
  batchSize?: unknown;
}

/** What xrayjs reads of an ioredis `Pipeline`. */
interface Pipeline {
  length?: number;
  _transactions?: number;
  redis?: { options?: { host?: unknown; port?: unknown; db?: unknown; path?: unknown }; condition?: { select?: unknown } };
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

const channels = [
  new ChannelSubscription<CommandMessage>('ioredis:command', {
    begin(message) {
      // A command of a pipeline or transaction is part of the batch's subsegment.
      if (isBatch(traceContext.get())) return undefined;
      const context = callContext('ioredis');
      if (context === undefined || !context.sampled) return undefined;
      return beginCommand(context, message, String(message.command), Array.isArray(message.args) ? message.args : []);
    },
    failed(_message, sub, error) {
      recordCommandError(sub, error);
    },
  }),
  new ChannelSubscription<BatchMessage>(
    'ioredis:batch',
    {
      begin(message) {
        const context = callContext('ioredis');
        if (context === undefined || !context.sampled) return undefined;
        return beginBatch(context, message, 'MULTI', Number(message.batchSize) || 0);
      },
      failed(_message, sub, error) {
        recordCommandError(sub, error);
      },
    },
    // The commands the transaction sends run in its subsegment, which tells them they are part of it.
    { current: true },
  ),
];

/** Pipelines already traced: a retried `exec()` returns the first call's promise. */
const traced = new WeakSet<object>();

/**
 * A plain pipeline (`redis.pipeline()...exec()`) publishes no batch event, only one `ioredis:command`
 * per command; its `exec` is wrapped to make it one subsegment with the command count. The
 * transaction of `multi()` calls this same `exec` and is traced by `ioredis:batch` instead.
 */
function wrapExec(original: Method): Method {
  return function exec(this: unknown, ...args: unknown[]): unknown {
    const pipeline = this as Pipeline;
    if ((pipeline._transactions ?? 0) > 0 || traced.has(pipeline) || isBatch(traceContext.get())) return original.apply(this, args);
    const context = callContext('ioredis');
    if (context === undefined || !context.sampled) return original.apply(this, args);
    let sub: Subsegment;
    try {
      const options = pipeline.redis?.options;
      sub = beginBatch(
        context,
        { serverAddress: options?.path ?? options?.host, serverPort: options?.port, database: pipeline.redis?.condition?.select ?? options?.db },
        'PIPELINE',
        typeof pipeline.length === 'number' ? pipeline.length : 0,
      );
      traced.add(pipeline);
    } catch (e) {
      diag.warn('ioredis_instrumentation_failed', `An ioredis pipeline could not be traced: ${describeValue(e)}`);
      return original.apply(this, args);
    }
    let result: unknown;
    try {
      result = traceContext.run(sub, () => original.apply(this, args));
    } catch (error) {
      recordCommandError(sub, error);
      sub.close();
      throw error;
    }
    // The application gets exec's own promise; the subsegment closes on a branch of it.
    const settled = whenSettled(result, (error, replies) => {
      if (error !== undefined) recordCommandError(sub, error);
      else if (Array.isArray(replies)) {
        // A pipeline resolves with [error, reply] pairs: a failed command is a fault of the batch.
        const failed = replies.find((r) => Array.isArray(r) && r[0] !== null && r[0] !== undefined) as unknown[] | undefined;
        if (failed !== undefined) recordCommandError(sub, failed[0]);
      }
      sub.close();
    });
    if (!settled) sub.close();
    return result;
  };
}

let patches: MethodPatch[] = [];
let enabling: Promise<void> | undefined;

async function hookIoredis(): Promise<void> {
  const ioredis = await loadOptional('ioredis');
  const Pipeline = ioredis?.get<{ prototype: object }>('Pipeline');
  if (ioredis?.get('Redis') === undefined) {
    diag.debug('ioredis: the ioredis package is not installed; its commands are not traced.');
    return;
  }
  if (Pipeline !== undefined) {
    const patch = patchMethod<Method>(Pipeline.prototype, 'exec', wrapExec);
    if (patch !== undefined) patches.push(patch);
  }
  for (const channel of channels) channel.subscribe();
  enabled = true;
}

let enabled = false;

/**
 * Redis through `ioredis`: every command a `remote` subsegment `redis@<host>` with the command name and
 * key count (never keys or values), from the `ioredis:command` channel (ioredis 5.10+); a `multi()`
 * transaction one subsegment from `ioredis:batch`; a plain pipeline one subsegment through its `exec`.
 * @internal
 */
export const ioredisInstrumentation: Instrumentation = {
  name: 'ioredis',
  covers: 'ioredis (Redis; commands, pipelines, multi) and what runs on it',
  versions: 'ioredis 5.10+ (5.11 tested)',
  hook: 'channel (ioredis:command, ioredis:batch) + patch (Pipeline.prototype.exec)',
  enable() {
    if (enabled) return;
    enabling ??= hookIoredis().finally(() => {
      enabling = undefined;
    });
    return enabling;
  },
  disable() {
    for (const channel of channels) channel.unsubscribe();
    for (const patch of patches) patch.restore();
    patches = [];
    enabled = false;
  },
};
