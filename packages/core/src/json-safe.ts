import { types } from 'node:util';

import { diag } from './diag.js';

/** The deepest nesting copied into metadata; anything deeper becomes a marker string. @internal */
const MAX_DEPTH = 64;

/**
 * Makes a JSON-safe copy of any value, so that serializing a document never throws and never loses
 * the whole document to one bad value:
 * - primitives pass through (non-finite numbers, BigInt and symbols become strings);
 * - functions become `[Function name]`; circular references `[Circular]`;
 * - `Error`s become `{ name, message, stack, ...own fields }`; `Date`s ISO strings;
 * - `Map`s plain objects; `Set`s and other iterables arrays; binary data a size marker;
 * - objects with `toJSON()` are copied from its result; a property whose getter throws becomes
 *   `[Unserializable]`; nesting deeper than 64 levels becomes `[Max depth]`.
 *
 * @example toJsonSafe({ n: 1n, self: obj }) // { n: '1', self: '[Circular]' }
 */
export function toJsonSafe(value: unknown): unknown {
  return copy(value, new Set(), 0);
}

function copy(value: unknown, ancestors: Set<object>, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function ${value.name || 'anonymous'}]`;
    case 'undefined':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  if (ancestors.has(obj)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Max depth]';
  ancestors.add(obj);
  try {
    return copyObject(obj, ancestors, depth + 1);
  } catch {
    diag.warn('value_unserializable', 'A value could not be read (a getter or a Proxy trap threw) and was recorded as "[Unserializable]".');
    return '[Unserializable]';
  } finally {
    ancestors.delete(obj);
  }
}

function copyObject(obj: object, ancestors: Set<object>, depth: number): unknown {
  if (Array.isArray(obj)) {
    const out = new Array<unknown>(obj.length);
    for (let i = 0; i < obj.length; i++) {
      const v = copy(obj[i], ancestors, depth);
      out[i] = v === undefined ? null : v;
    }
    return out;
  }
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof Error || types.isNativeError(obj)) {
    const out: Record<string, unknown> = { name: obj.name, message: obj.message };
    if (obj.stack) out.stack = obj.stack;
    copyOwnFields(obj, out, ancestors, depth);
    if (obj.cause !== undefined) out.cause = copy(obj.cause, ancestors, depth);
    return out;
  }
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
    return `[${obj.constructor?.name ?? 'Binary'} ${obj.byteLength} bytes]`;
  }
  if (obj instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of obj) {
      const c = copy(v, ancestors, depth);
      if (c !== undefined) setField(out, typeof k === 'string' ? k : String(copy(k, ancestors, depth)), c);
    }
    return out;
  }
  if (obj instanceof Set) {
    const out: unknown[] = [];
    for (const v of obj) {
      const c = copy(v, ancestors, depth);
      out.push(c === undefined ? null : c);
    }
    return out;
  }
  if (obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof Promise) {
    return `[${obj.constructor.name}]`;
  }
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const replaced: unknown = toJSON.call(obj);
    // toJSON returning the object itself (or another object) must not loop.
    return replaced === obj ? copyPlain(obj, ancestors, depth) : copy(replaced, ancestors, depth);
  }
  if (typeof (obj as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
    const out: unknown[] = [];
    for (const v of obj as Iterable<unknown>) {
      const c = copy(v, ancestors, depth);
      out.push(c === undefined ? null : c);
      if (out.length >= 10_000) break;
    }
    return out;
  }
  return copyPlain(obj, ancestors, depth);
}

function copyPlain(obj: object, ancestors: Set<object>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  copyOwnFields(obj, out, ancestors, depth);
  return out;
}

function copyOwnFields(
  obj: object,
  out: Record<string, unknown>,
  ancestors: Set<object>,
  depth: number,
): void {
  for (const key of Object.keys(obj)) {
    let v: unknown;
    try {
      v = copy((obj as Record<string, unknown>)[key], ancestors, depth);
    } catch {
      v = '[Unserializable]';
    }
    if (v !== undefined) setField(out, key, v);
  }
}

/**
 * Sets an own field, also one named `__proto__` (which plain assignment would take as the object's
 * prototype), so that a key from parsed JSON or a Map is kept as data and never changes any prototype.
 */
function setField(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
