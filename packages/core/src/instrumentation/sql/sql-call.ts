import type { SqlData } from '../../model/document-fields.js';
import type { Subsegment } from '../../model/subsegment.js';
import { beginCall, type CallContext } from '../remote-call.js';

/** The database a connection talks to, as the `sql` block and the subsegment name describe it. @internal */
export interface SqlTarget {
  /** `<database>@<host>`, the subsegment (and service map node) name. */
  readonly name: string;
  /** The fields every query on this connection shares. */
  readonly sql: SqlData;
}

/** What a driver knows of its connection. @internal */
export interface ConnectionFacts {
  /** `postgresql` or `mysql`: the URL scheme. */
  scheme: string;
  databaseType: string;
  host?: unknown;
  port?: unknown;
  database?: unknown;
  user?: unknown;
  databaseVersion?: string;
  driverVersion: string;
}

/** Longest `sanitized_query` recorded; a longer statement is cut and says by how much. */
export const MAX_QUERY_TEXT = 16 * 1024;

function text(value: unknown): string | undefined {
  return (typeof value === 'string' && value.length > 0) || typeof value === 'number' ? String(value) : undefined;
}

/**
 * The target of a connection: the name `<database>@<host>` (as the Node and Python SDKs name it) and
 * the `sql` fields: `url` (scheme, host, port and database, never a password, which X-Ray's `url`
 * field would otherwise show), `database_type`, `database_version` when known, `driver_version`, `user`.
 * @internal
 */
export function sqlTarget(facts: ConnectionFacts): SqlTarget {
  const host = text(facts.host) ?? 'localhost';
  const database = text(facts.database);
  const port = text(facts.port);
  // A Unix socket path is a host too, but not one a URL can hold as it is.
  const urlHost = host.startsWith('/') ? encodeURIComponent(host) : host.includes(':') ? `[${host}]` : host;
  const sql: SqlData = {
    url: `${facts.scheme}://${urlHost}${port === undefined ? '' : `:${port}`}${database === undefined ? '' : `/${database}`}`,
    database_type: facts.databaseType,
    driver_version: facts.driverVersion,
  };
  if (facts.databaseVersion !== undefined) sql.database_version = facts.databaseVersion;
  const user = text(facts.user);
  if (user !== undefined) sql.user = user;
  return { name: `${database ?? facts.databaseType.toLowerCase()}@${host}`, sql };
}

/**
 * The `sql` block of one call: always the same keys in the same order (absent ones `undefined`, which
 * the document leaves out), written as a literal. A spread of the target's block plus a key costs V8's
 * slow path (about 1.4 us a query here, against under 1 ns for the literal).
 */
function sqlBlock(base: SqlData, preparation: SqlData['preparation'], sanitizedQuery: string | undefined): SqlData {
  return {
    url: base.url,
    preparation,
    database_type: base.database_type,
    database_version: base.database_version,
    driver_version: base.driver_version,
    user: base.user,
    sanitized_query: sanitizedQuery,
  };
}

/**
 * Begins the `remote` subsegment of one statement. `query` is the statement as the application wrote
 * it (placeholders, not values); it is recorded as `sanitized_query` when the recorder's `STREAM_SQL`
 * is on. `preparation` is `statement` when the statement takes parameters or is a named prepared
 * statement, `call` otherwise.
 * @internal
 */
export function beginQuery(context: CallContext, target: SqlTarget, query: string | undefined, parameterized: boolean): Subsegment {
  const sub = beginCall(context, target.name, 'remote');
  const sanitized =
    query !== undefined && sub.segment.recorder?.config?.streamSql !== false
      ? query.length > MAX_QUERY_TEXT
        ? `${query.slice(0, MAX_QUERY_TEXT)} [${query.length - MAX_QUERY_TEXT} more characters]`
        : query
      : undefined;
  sub.sql = sqlBlock(target.sql, parameterized ? 'statement' : 'call', sanitized);
  return sub;
}

/** Begins the subsegment of opening a connection: the same target, no statement. @internal */
export function beginConnect(context: CallContext, target: SqlTarget): Subsegment {
  const sub = beginCall(context, target.name, 'remote');
  sub.sql = sqlBlock(target.sql, undefined, undefined);
  sub.metadata = { sql: { operation: 'connect' } };
  return sub;
}

/**
 * Records a failed statement on its subsegment: a fault, with the driver's error code before the
 * message (`23505: duplicate key value ...`) and every parameter value taken out of the messages
 * (a database quotes the offending value in some errors). Errors the server sent are `remote`.
 * @internal
 */
export function recordQueryError(sub: Subsegment, error: unknown, values: unknown): void {
  const code = errorCode(error);
  const redact = parameterRedactor(values);
  sub.addError(error, {
    remote: isServerError(error),
    redact: (message) => {
      const clean = redact === undefined ? message : redact(message);
      return code !== undefined && !clean.startsWith(code) ? `${code}: ${clean}` : clean;
    },
  });
}

function errorCode(error: unknown): string | undefined {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' && code.length > 0 && code.length <= 64 ? code : typeof code === 'number' ? String(code) : undefined;
  } catch {
    return undefined;
  }
}

/** A `DatabaseError` of pg (it has a `severity`) or an error of mysql2 with a server's `sqlState`. */
function isServerError(error: unknown): boolean {
  try {
    const e = error as { severity?: unknown; sqlState?: unknown } | null;
    return typeof e?.severity === 'string' || typeof e?.sqlState === 'string';
  } catch {
    return false;
  }
}

/** Token characters around a short value: `5` is taken out of `id = 5` but not out of `line 51`. */
const WORD = /[A-Za-z0-9_]/;

/**
 * A function that takes every parameter value out of a message, or `undefined` when there are none.
 * Values of three characters or more are removed wherever they appear; shorter ones where they stand
 * alone, so that messages stay readable (`?` takes their place). Over-redaction is accepted; a value
 * left in a trace is not.
 * @internal
 */
export function parameterRedactor(values: unknown): ((message: string) => string) | undefined {
  const strings: string[] = [];
  collect(values, strings, 0);
  if (strings.length === 0) return undefined;
  strings.sort((a, b) => b.length - a.length);
  return (message) => {
    let out = message;
    for (const value of strings) {
      if (value.length >= 3) {
        out = out.split(value).join('?');
        continue;
      }
      let from = 0;
      for (let i = out.indexOf(value, from); i !== -1; i = out.indexOf(value, from)) {
        const before = i === 0 ? '' : out[i - 1];
        const after = out[i + value.length] ?? '';
        if (!WORD.test(before) && !WORD.test(after)) {
          out = `${out.slice(0, i)}?${out.slice(i + value.length)}`;
          from = i + 1;
        } else {
          from = i + value.length;
        }
      }
    }
    return out;
  };
}

function collect(value: unknown, out: string[], depth: number): void {
  if (value === null || value === undefined || depth > 4 || out.length > 1000) return;
  switch (typeof value) {
    case 'string':
      if (value.length > 0) out.push(value);
      return;
    case 'number':
    case 'bigint':
    case 'boolean':
      out.push(String(value));
      return;
    case 'object':
      break;
    default:
      return;
  }
  try {
    if (value instanceof Date) {
      if (!Number.isNaN(value.getTime())) out.push(value.toISOString(), String(value));
      return;
    }
    if (ArrayBuffer.isView(value)) return;
    if (Array.isArray(value)) {
      for (const item of value) collect(item, out, depth + 1);
      return;
    }
    // Named placeholders ({ id: 5 }) and JSON parameters: the values and the JSON text.
    for (const item of Object.values(value as object)) collect(item, out, depth + 1);
    if (depth === 1) out.push(JSON.stringify(value));
  } catch {
    // an exotic value (a throwing getter) is skipped
  }
}
