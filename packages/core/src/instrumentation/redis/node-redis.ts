import type { Instrumentation } from '../instrumentation.js';
import { callContext } from '../remote-call.js';
import { ChannelSubscription } from '../tracing-channel.js';
import { beginBatch, beginCommand, recordCommandError, type RedisServer } from './redis-call.js';

/** What `node-redis:command` passes (@redis/client 6.3 tested): the arguments with the name first, values masked. */
interface CommandMessage extends RedisServer {
  command?: unknown;
  args?: unknown;
  /** Set when the command is one of a pipeline's: the batch's subsegment stands for it. */
  batchMode?: unknown;
}

/** What `node-redis:batch` passes for a pipeline or a transaction. */
interface BatchMessage extends RedisServer {
  batchMode?: unknown;
  batchSize?: unknown;
}

const channels = [
  new ChannelSubscription<CommandMessage>('node-redis:command', {
    begin(message) {
      if (message.batchMode !== undefined) return undefined;
      const context = callContext('redis');
      if (context === undefined || !context.sampled) return undefined;
      const args = Array.isArray(message.args) ? message.args.slice(1) : [];
      return beginCommand(context, message, String(message.command), args);
    },
    failed(_message, sub, error) {
      recordCommandError(sub, error);
    },
  }),
  new ChannelSubscription<BatchMessage>('node-redis:batch', {
    begin(message) {
      const context = callContext('redis');
      if (context === undefined || !context.sampled) return undefined;
      return beginBatch(context, message, message.batchMode === 'MULTI' ? 'MULTI' : 'PIPELINE', Number(message.batchSize) || 0);
    },
    failed(_message, sub, error) {
      recordCommandError(sub, error);
    },
  }),
];

/**
 * Redis through `redis` / `@redis/client` (node-redis): every command a `remote` subsegment
 * `redis@<host>` with the command name and key count, from `node-redis:command`; pipelines and
 * transactions one subsegment from `node-redis:batch` (@redis/client 6.3 tested). Channels only: nothing
 * is patched, and nothing needs loading.
 * @internal
 */
export const nodeRedisInstrumentation: Instrumentation = {
  name: 'redis',
  covers: 'redis / @redis/client (node-redis; commands, pipelines, multi) and what runs on it',
  versions: 'redis 6.3 / @redis/client 6.3 tested (versions that publish node-redis:* channels)',
  hook: 'channel (node-redis:command, node-redis:batch)',
  enable() {
    for (const channel of channels) channel.subscribe();
  },
  disable() {
    for (const channel of channels) channel.unsubscribe();
  },
};
