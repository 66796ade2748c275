import { traceContext } from '../../context/trace-context.js';
import { describeValue, diag } from '../../diag.js';
import { Subsegment } from '../../model/subsegment.js';
import type { Instrumentation } from '../instrumentation.js';
import { loadOptional, ownerOf, packageVersion, patchMethod, type MethodPatch } from '../method-patch.js';
import { callContext } from '../remote-call.js';
import { callbackInCaller, type NodeCallback } from '../settle.js';
import { ChannelSubscription } from '../tracing-channel.js';
import { beginConnect, beginQuery, recordQueryError, sqlTarget, type SqlTarget } from './sql-call.js';

/** What mysql2's `mysql2:query` and `mysql2:execute` channels pass (mysql2 3.17+). */
interface QueryMessage {
  /** `query`: the statement with the values already put in by the client; `execute`: the template. */
  query?: unknown;
  values?: unknown;
  database?: unknown;
  serverAddress?: unknown;
  serverPort?: unknown;
}

/** What `mysql2:connect` passes. */
interface ConnectMessage {
  database?: unknown;
  serverAddress?: unknown;
  serverPort?: unknown;
  user?: unknown;
}

/** What xrayjs reads of a mysql2 connection. */
interface Mysql2Connection {
  config?: { user?: unknown };
  _handshakePacket?: { serverVersion?: unknown };
}

/** What xrayjs reads of a mysql2 pool. */
interface Mysql2Pool {
  _freeConnections?: { length?: number };
}

type Callback = NodeCallback;
type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The statement being handed to mysql2 right now, as the application wrote it. mysql2 publishes the
 * `query` of a `query()` call after putting the values into the text on the client, so the channel's
 * `query` would carry every value; the wrapper of `query`/`execute` sets this for the duration of the
 * call, and the channel's `start` (published inside that call) reads it.
 */
let calling: { connection: Mysql2Connection; template: unknown; values: unknown } | undefined;
let driverVersion = 'mysql2';

function serverVersion(connection: Mysql2Connection | undefined): string | undefined {
  const version = connection?._handshakePacket?.serverVersion;
  return typeof version === 'string' && version.length > 0 ? version : undefined;
}

function targetOf(message: QueryMessage & ConnectMessage, connection: Mysql2Connection | undefined): SqlTarget {
  const version = serverVersion(connection);
  return sqlTarget({
    scheme: 'mysql',
    databaseType: version !== undefined && /mariadb/i.test(version) ? 'MariaDB' : 'MySQL',
    host: message.serverAddress,
    port: message.serverPort,
    database: message.database,
    user: message.user ?? connection?.config?.user,
    databaseVersion: version,
    driverVersion,
  });
}

function templateOf(sql: unknown): string | undefined {
  if (typeof sql === 'string') return sql;
  const text = (sql as { sql?: unknown } | null | undefined)?.sql;
  return typeof text === 'string' ? text : undefined;
}

function hasValues(values: unknown): boolean {
  if (values === undefined || values === null) return false;
  if (Array.isArray(values)) return values.length > 0;
  return typeof values !== 'object' || Object.keys(values).length > 0;
}

function beginStatement(message: QueryMessage, kind: 'query' | 'execute'): Subsegment | undefined {
  const context = callContext('mysql2');
  if (context === undefined || !context.sampled) return undefined;
  const call = calling;
  const values = call?.values ?? message.values;
  // `execute` publishes the template; `query` the text with the values in it, which is only safe to
  // record when there were none.
  const text = kind === 'execute' ? templateOf(message.query) : (templateOf(call?.template) ?? (hasValues(values) ? undefined : templateOf(message.query)));
  return beginQuery(context, targetOf(message, call?.connection), text, kind === 'execute' || hasValues(values));
}

/** The statement's values, for taking them out of an error message. */
const valuesOf = new WeakMap<object, unknown>();

function statementChannel(kind: 'query' | 'execute'): ChannelSubscription<QueryMessage> {
  return new ChannelSubscription<QueryMessage>(
    `mysql2:${kind}`,
    {
      begin(message) {
        const sub = beginStatement(message, kind);
        if (sub !== undefined) valuesOf.set(message, calling?.values ?? message.values);
        return sub;
      },
      failed(message, sub, error) {
        recordQueryError(sub, error, valuesOf.get(message));
      },
    },
    { callerContextForCallbacks: true },
  );
}

const channels = [
  statementChannel('query'),
  statementChannel('execute'),
  new ChannelSubscription<ConnectMessage>('mysql2:connect', {
    begin(message) {
      const context = callContext('mysql2');
      if (context === undefined || !context.sampled) return undefined;
      return beginConnect(context, targetOf(message, undefined));
    },
    failed(_message, sub, error) {
      recordQueryError(sub, error, undefined);
    },
  }),
];

/** Wraps `query`/`execute` of mysql2's base connection to hand the template to the channel's `start`. */
function wrapStatement(original: Method): Method {
  return function statement(this: unknown, ...args: unknown[]): unknown {
    if (traceContext.get() === undefined) return original.apply(this, args);
    const previous = calling;
    const sql = args[0];
    const values = typeof args[1] === 'function' ? (sql as { values?: unknown } | null)?.values : (args[1] ?? (sql as { values?: unknown } | null)?.values);
    calling = { connection: this as Mysql2Connection, template: templateOf(sql), values };
    try {
      return original.apply(this, args);
    } finally {
      calling = previous;
    }
  };
}

/**
 * Taking a connection from a pool: a `local` subsegment `mysql2.pool.connect` when the pool has no free
 * connection (it opens one, whose handshake nests under it, or queues the caller). A free connection
 * taken at once records nothing. The callback always runs in the caller's trace: a queued caller is
 * handed the connection another request released, in that request's context.
 */
function wrapGetConnection(original: Method): Method {
  return function getConnection(this: unknown, ...args: unknown[]): unknown {
    const callback = args[0];
    const context = callContext('mysql2');
    if (context === undefined || typeof callback !== 'function') return original.apply(this, args);
    const free = (this as Mysql2Pool)._freeConnections?.length;
    let sub: Subsegment | undefined;
    if (context.sampled && free === 0) {
      try {
        sub = new Subsegment('mysql2.pool.connect', context.parent);
      } catch (e) {
        diag.warn('mysql2_instrumentation_failed', `A mysql2 pool connection could not be traced: ${describeValue(e)}`);
      }
    }
    let closed = false;
    args[0] = callbackInCaller(context.parent, callback as Callback, (error) => {
      if (sub === undefined || closed) return;
      closed = true;
      if (error !== null && error !== undefined) recordQueryError(sub, error, undefined);
      sub.close();
    });
    return sub === undefined ? original.apply(this, args) : traceContext.run(sub, () => original.apply(this, args));
  };
}

let patches: MethodPatch[] = [];
let enabling: Promise<void> | undefined;

async function hookMysql2(): Promise<void> {
  const mysql2 = await loadOptional('mysql2');
  const Connection = mysql2?.get<{ prototype: object }>('Connection');
  if (Connection === undefined) {
    diag.debug('mysql2: the mysql2 package is not installed; MySQL/MariaDB queries are not traced.');
    return;
  }
  const version = packageVersion('mysql2');
  if (version !== undefined) driverVersion = `mysql2 ${version}`;
  const add = (patch: MethodPatch | undefined): void => {
    if (patch !== undefined) patches.push(patch);
  };
  const base = ownerOf(Connection.prototype, 'query');
  if (base !== undefined) add(patchMethod<Method>(base, 'query', wrapStatement));
  const baseExecute = ownerOf(Connection.prototype, 'execute');
  if (baseExecute !== undefined) add(patchMethod<Method>(baseExecute, 'execute', wrapStatement));
  const pool = ownerOf(mysql2?.get<{ prototype: object }>('Pool')?.prototype, 'getConnection');
  if (pool !== undefined) add(patchMethod<Method>(pool, 'getConnection', wrapGetConnection));
  for (const channel of channels) channel.subscribe();
}

/**
 * MySQL and MariaDB through `mysql2` (callback and promise API, pools, `query` and `execute`): its
 * diagnostics channels `mysql2:query`, `mysql2:execute` and `mysql2:connect` (mysql2 3.17+) give the
 * lifecycle of every statement; `query`/`execute` of the base connection are wrapped only to read the
 * statement as written (the channel of `query` carries it with the values in), and the pool's
 * `getConnection` to show waiting for a connection and to run callbacks in the caller's trace.
 * @internal
 */
export const mysql2Instrumentation: Instrumentation = {
  name: 'mysql2',
  covers: 'mysql2 (Connection, Pool, PoolCluster; callback and promise API; query and execute), MySQL and MariaDB',
  versions: 'mysql2 3.17+ (3.24 tested; MariaDB 11)',
  hook: 'channel (mysql2:query, mysql2:execute, mysql2:connect) + patch (query, execute, Pool.getConnection)',
  enable() {
    if (patches.length > 0) return;
    enabling ??= hookMysql2().finally(() => {
      enabling = undefined;
    });
    return enabling;
  },
  disable() {
    for (const channel of channels) channel.unsubscribe();
    for (const patch of patches) patch.restore();
    patches = [];
  },
};
