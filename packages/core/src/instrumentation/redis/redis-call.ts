import type { TraceEntity } from '../../context/trace-context.js';
import type { Subsegment } from '../../model/subsegment.js';
import { beginCall, type CallContext } from '../remote-call.js';

/** Where a Redis client sends its commands, as its diagnostics channels describe it. @internal */
export interface RedisServer {
  serverAddress?: unknown;
  serverPort?: unknown;
  database?: unknown;
}

/** Subsegments of pipelines and transactions: the commands sent inside them are part of them. */
const batches = new WeakSet<object>();

/** Whether `entity` is a pipeline's or transaction's subsegment. @internal */
export function isBatch(entity: TraceEntity | undefined): boolean {
  return entity !== undefined && batches.has(entity);
}

/** Commands that name no key. */
const NO_KEY = new Set([
  'ACL', 'AUTH', 'BGREWRITEAOF', 'BGSAVE', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DBSIZE', 'DEBUG', 'DISCARD', 'ECHO', 'EXEC',
  'FLUSHALL', 'FLUSHDB', 'FUNCTION', 'HELLO', 'INFO', 'KEYS', 'LASTSAVE', 'LATENCY', 'MEMORY', 'MODULE', 'MONITOR', 'MULTI', 'PING',
  'PSUBSCRIBE', 'PUBLISH', 'PUBSUB', 'PUNSUBSCRIBE', 'QUIT', 'RANDOMKEY', 'READONLY', 'READWRITE', 'RESET', 'ROLE', 'SAVE', 'SCAN',
  'SCRIPT', 'SELECT', 'SHUTDOWN', 'SLOWLOG', 'SPUBLISH', 'SSUBSCRIBE', 'SUBSCRIBE', 'SUNSUBSCRIBE', 'SWAPDB', 'TIME', 'UNSUBSCRIBE',
  'UNWATCH', 'WAIT',
]);
/** Commands whose every argument is a key. */
const ALL_KEYS = new Set(['DEL', 'EXISTS', 'MGET', 'PFCOUNT', 'SDIFF', 'SINTER', 'SUNION', 'TOUCH', 'UNLINK', 'WATCH']);
/** Commands of key/value pairs. */
const PAIRS = new Set(['MSET', 'MSETNX']);
/** Commands whose second argument says how many keys follow. */
const NUMKEYS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO']);
/** Blocking pops: keys, then a timeout. */
const KEYS_THEN_TIMEOUT = new Set(['BLPOP', 'BRPOP', 'BZPOPMIN', 'BZPOPMAX']);

/**
 * How many keys a command names, from its name and the number (not the values) of its arguments:
 * `GET k` 1, `MGET a b c` 3, `MSET a 1 b 2` 2, `EVAL script 2 k1 k2 arg` 2, `PING` 0.
 * @internal
 */
export function keyCount(command: string, args: readonly unknown[]): number {
  if (NO_KEY.has(command)) return 0;
  if (ALL_KEYS.has(command)) return args.length;
  if (PAIRS.has(command)) return Math.floor(args.length / 2);
  if (KEYS_THEN_TIMEOUT.has(command)) return Math.max(args.length - 1, 0);
  if (NUMKEYS.has(command)) {
    const n = Number(args[1]);
    return Number.isInteger(n) && n >= 0 ? Math.min(n, Math.max(args.length - 2, 0)) : 0;
  }
  return args.length > 0 ? 1 : 0;
}

function text(value: unknown): string | undefined {
  return (typeof value === 'string' && value.length > 0) || typeof value === 'number' ? String(value) : undefined;
}

/** `redis@<host>`: one node of the service map per Redis server, as X-Ray names remote resources. */
function nodeName(server: RedisServer): string {
  return `redis@${text(server.serverAddress) ?? 'localhost'}`;
}

function database(server: RedisServer): number | undefined {
  const db = Number(server.database);
  return Number.isInteger(db) && db >= 0 ? db : undefined;
}

/**
 * Begins the `remote` subsegment of one command, with `metadata.redis`: the command's name, how many
 * keys it names, the database. Never a key or a value: keys often hold user ids or e-mail addresses.
 * @internal
 */
export function beginCommand(context: CallContext, server: RedisServer, command: string, args: readonly unknown[]): Subsegment {
  const sub = beginCall(context, nodeName(server), 'remote');
  const name = command.toUpperCase();
  const redis: Record<string, unknown> = { command: name, key_count: keyCount(name, args) };
  const db = database(server);
  if (db !== undefined) redis.database = db;
  sub.metadata = { redis };
  return sub;
}

/**
 * Begins the subsegment of a pipeline or transaction (`PIPELINE` or `MULTI`): one subsegment with the
 * number of commands, which the commands it sends do not repeat.
 * @internal
 */
export function beginBatch(context: CallContext, server: RedisServer, operation: 'PIPELINE' | 'MULTI', commandCount: number): Subsegment {
  const sub = beginCall(context, nodeName(server), 'remote');
  const redis: Record<string, unknown> = { operation, command_count: commandCount };
  const db = database(server);
  if (db !== undefined) redis.database = db;
  sub.metadata = { redis };
  batches.add(sub);
  return sub;
}

/** Error classes of the clients for a reply the server sent (ioredis `ReplyError`, node-redis `ErrorReply`). */
const REPLY_ERRORS = new Set(['ReplyError', 'ErrorReply']);

function isReplyError(error: unknown): boolean {
  try {
    for (let p = error as object | null, i = 0; p !== null && typeof p === 'object' && i < 8; p = Object.getPrototypeOf(p) as object | null, i++) {
      if (REPLY_ERRORS.has(String((p as { constructor?: { name?: unknown } }).constructor?.name))) return true;
    }
  } catch {
    // not readable: not a reply
  }
  return false;
}

/** Records a failed command: a fault; a reply error of the server is `remote`. @internal */
export function recordCommandError(sub: Subsegment, error: unknown): void {
  sub.addError(error, { remote: isReplyError(error) });
}
