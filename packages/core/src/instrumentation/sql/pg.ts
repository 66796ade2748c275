import type { EventEmitter } from 'node:events';

import { describeValue, diag } from '../../diag.js';
import { Subsegment } from '../../model/subsegment.js';
import type { Instrumentation } from '../instrumentation.js';
import { loadOptional, ownerOf, packageVersion, patchMethod, type MethodPatch } from '../method-patch.js';
import { callContext, type CallContext } from '../remote-call.js';
import { callbackInCaller, type NodeCallback, whenSettled } from '../settle.js';
import { beginConnect, beginQuery, recordQueryError, sqlTarget, type SqlTarget } from './sql-call.js';

/** What xrayjs reads of a `pg.Client`. */
interface PgClient {
  database?: unknown;
  host?: unknown;
  port?: unknown;
  user?: unknown;
  connection?: EventEmitter;
}

/** What xrayjs reads of a `pg.Pool` (pg-pool). */
interface PgPool {
  idleCount?: number;
  options?: { database?: unknown; host?: unknown };
}

/** A query config, a `pg.Query`, or a submittable (pg-cursor, pg-query-stream). */
interface QueryConfig {
  text?: unknown;
  values?: unknown;
  name?: unknown;
  callback?: unknown;
  submit?: unknown;
  cursor?: { text?: unknown; values?: unknown };
  handleError?: (error: unknown, connection: unknown) => unknown;
  handleReadyForQuery?: (connection: unknown) => unknown;
}

type Callback = NodeCallback;
type Method = (this: unknown, ...args: unknown[]) => unknown;

const facts = new WeakMap<object, { version?: string; target?: SqlTarget }>();
const watched = new WeakSet<object>();
let driverVersion = 'pg';

/** The target of a client: built once, rebuilt once the server has told its version. */
function targetOf(client: PgClient): SqlTarget {
  let known = facts.get(client);
  if (known === undefined) facts.set(client, (known = {}));
  return (known.target ??= sqlTarget({
    scheme: 'postgresql',
    databaseType: 'PostgreSQL',
    host: client.host,
    port: client.port,
    database: client.database,
    user: client.user,
    databaseVersion: known.version,
    driverVersion,
  }));
}

/** Listens, once per client, for the `server_version` the server reports while the connection opens. */
function watchServerVersion(client: PgClient): void {
  const connection = client.connection;
  if (watched.has(client) || typeof connection?.on !== 'function') return;
  watched.add(client);
  connection.on('parameterStatus', (message: { parameterName?: unknown; parameterValue?: unknown }) => {
    if (message?.parameterName !== 'server_version' || typeof message.parameterValue !== 'string') return;
    let known = facts.get(client);
    if (known === undefined) facts.set(client, (known = {}));
    known.version = message.parameterValue;
    known.target = undefined;
  });
}

function queryText(config: QueryConfig | string): string | undefined {
  if (typeof config === 'string') return config;
  const text = config.text ?? config.cursor?.text;
  return typeof text === 'string' ? text : undefined;
}

function wrapQuery(original: Method): Method {
  return function query(this: unknown, ...args: unknown[]): unknown {
    const context = callContext('pg');
    const config = args[0] as QueryConfig | string | null | undefined;
    if (context === undefined || !context.sampled || config === null || config === undefined) return original.apply(this, args);
    let sub: Subsegment;
    let values: unknown;
    try {
      values = Array.isArray(args[1]) ? args[1] : typeof config === 'object' ? (config.values ?? config.cursor?.values) : undefined;
      const parameterized = (Array.isArray(values) && values.length > 0) || (typeof config === 'object' && config.name !== undefined && config.name !== null);
      sub = beginQuery(context, targetOf(this as PgClient), queryText(config), parameterized);
    } catch (e) {
      diag.warn('pg_instrumentation_failed', `A pg query could not be traced: ${describeValue(e)}`);
      return original.apply(this, args);
    }
    let closed = false;
    const finish = (error: unknown): void => {
      if (closed) return;
      closed = true;
      if (error !== null && error !== undefined) recordQueryError(sub, error, values);
      sub.close();
    };
    return runQuery(this, original, args, config, context, sub, finish);
  };
}

function runQuery(client: unknown, original: Method, args: unknown[], config: QueryConfig | string, context: CallContext, sub: Subsegment, finish: (error: unknown) => void): unknown {
  const recorder = sub.segment.recorder!;
  if (typeof config === 'object' && typeof config.submit === 'function') {
    hookSubmittable(config, finish);
  } else {
    const at = typeof args[1] === 'function' ? 1 : typeof args[2] === 'function' ? 2 : -1;
    if (at !== -1) {
      args[at] = callbackInCaller(context.parent, args[at] as Callback, finish);
    } else if (typeof config === 'object' && typeof config.callback === 'function') {
      if (Object.getPrototypeOf(config) !== Object.prototype) {
        // A config of some class with a callback of its own: copying it could lose what it carries.
        finish(undefined);
        return original.apply(client, args);
      }
      args[0] = { ...config, callback: callbackInCaller(context.parent, config.callback as Callback, finish) };
    }
  }
  let result: unknown;
  try {
    result = recorder.runWith(sub, () => original.apply(client, args));
  } catch (error) {
    finish(error);
    throw error;
  }
  whenSettled(result, finish);
  return result;
}

/**
 * A submittable (a `pg.Query` passed in, pg-cursor, pg-query-stream) ends in `handleReadyForQuery` or
 * fails in `handleError`, which pg calls on it; both are wrapped on this one object.
 */
function hookSubmittable(query: QueryConfig, finish: (error: unknown) => void): void {
  const { handleError, handleReadyForQuery } = query;
  if (typeof handleError === 'function') {
    query.handleError = function (this: unknown, error: unknown, connection: unknown) {
      finish(error ?? new Error('query failed'));
      return handleError.call(this, error, connection);
    };
  }
  if (typeof handleReadyForQuery === 'function') {
    query.handleReadyForQuery = function (this: unknown, connection: unknown) {
      finish(undefined);
      return handleReadyForQuery.call(this, connection);
    };
  }
}

function wrapConnect(original: Method): Method {
  return function connect(this: unknown, ...args: unknown[]): unknown {
    const client = this as PgClient;
    try {
      watchServerVersion(client);
    } catch {
      // the version stays unknown
    }
    const context = callContext('pg');
    if (context === undefined || !context.sampled) return original.apply(this, args);
    return traceOpening(context, this, original, args, () => beginConnect(context, targetOf(client)));
  };
}

/**
 * Taking a client from a pool: a `local` subsegment `pg.pool.connect` when the pool has no idle client
 * (it opens one, whose `connect` nests under it, or waits for one). An idle client taken at once costs
 * nothing and records nothing. Either way, a callback passed in runs in the caller's trace: a client
 * handed over when another request released it would otherwise carry that request's trace.
 */
function wrapPoolConnect(original: Method): Method {
  return function connect(this: unknown, ...args: unknown[]): unknown {
    const context = callContext('pg');
    if (context === undefined) return original.apply(this, args);
    const idle = (this as PgPool).idleCount;
    if (!context.sampled || (typeof idle === 'number' && idle > 0)) {
      if (typeof args[0] === 'function') args[0] = callbackInCaller(context.parent, args[0] as Callback, () => undefined);
      return original.apply(this, args);
    }
    return traceOpening(context, this, original, args, () => new Subsegment('pg.pool.connect', context.parent));
  };
}

/** Runs a connect-like method (callback or promise) in its subsegment. */
function traceOpening(context: CallContext, self: unknown, original: Method, args: unknown[], begin: () => Subsegment): unknown {
  let sub: Subsegment;
  try {
    sub = begin();
  } catch (e) {
    diag.warn('pg_instrumentation_failed', `A pg connection could not be traced: ${describeValue(e)}`);
    return original.apply(self, args);
  }
  let closed = false;
  const finish = (error: unknown): void => {
    if (closed) return;
    closed = true;
    if (error !== null && error !== undefined) recordQueryError(sub, error, undefined);
    sub.close();
  };
  if (typeof args[0] === 'function') args[0] = callbackInCaller(context.parent, args[0] as Callback, finish);
  let result: unknown;
  try {
    result = sub.segment.recorder!.runWith(sub, () => original.apply(self, args));
  } catch (error) {
    finish(error);
    throw error;
  }
  whenSettled(result, finish);
  return result;
}

let patches: MethodPatch[] = [];
let enabling: Promise<void> | undefined;

async function patchPg(): Promise<void> {
  const pg = await loadOptional('pg');
  const Client = pg?.get<{ prototype: object }>('Client');
  if (Client === undefined) {
    diag.debug('pg: the pg package is not installed; PostgreSQL queries are not traced.');
    return;
  }
  const version = packageVersion('pg');
  if (version !== undefined) driverVersion = `node-postgres ${version}`;
  const add = (patch: MethodPatch | undefined): void => {
    if (patch !== undefined) patches.push(patch);
  };
  add(patchMethod<Method>(Client.prototype, 'query', wrapQuery));
  add(patchMethod<Method>(Client.prototype, 'connect', wrapConnect));
  const poolProto = ownerOf(pg?.get<{ prototype: object }>('Pool')?.prototype, 'connect');
  if (poolProto !== undefined) add(patchMethod<Method>(poolProto, 'connect', wrapPoolConnect));
}

/**
 * PostgreSQL through `pg` (and what runs on it: TypeORM, knex, Prisma's `@prisma/adapter-pg`): every query is a `remote` subsegment `<database>@<host>` with the `sql` block, in each of
 * pg's forms (promise, callback, a config with a callback, submittables such as pg-cursor and
 * pg-query-stream). pg publishes no diagnostics channel (its proposal is unreleased), so
 * `Client.prototype.query` and `connect` and pg-pool's `Pool.prototype.connect` are wrapped.
 * @internal
 */
export const pgInstrumentation: Instrumentation = {
  name: 'pg',
  covers: 'pg (Client, Pool; promise, callback, submittable) and what runs on it: TypeORM, knex, @prisma/adapter-pg',
  versions: 'pg 8.x (8.23 tested), pg-pool 3.x',
  hook: 'patch (Client.prototype.query, Client.prototype.connect, Pool.prototype.connect)',
  enable() {
    if (patches.length > 0) return;
    enabling ??= patchPg().finally(() => {
      enabling = undefined;
    });
    return enabling;
  },
  disable() {
    for (const patch of patches) patch.restore();
    patches = [];
  },
};
