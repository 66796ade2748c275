import { createRequire } from 'node:module';
import { join } from 'node:path';

import { directoryOfCaller } from '../module-location.js';

const ORIGINAL = Symbol.for('xrayjs.original-method');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMethod = (this: any, ...args: any[]) => any;

/** A method replaced by a wrapper; `restore()` puts the original back if the wrapper is still there. @internal */
export interface MethodPatch {
  restore(): void;
}

/**
 * Replaces `target[name]` (a prototype's method) with `wrap(original)`, unless it is already one of
 * xrayjs's wrappers (two copies of xrayjs, or a second enable). The wrapper keeps the original's name
 * and length, so that code which inspects the method sees no difference. `undefined` when there is no
 * such method.
 * @internal
 */
export function patchMethod<F extends AnyMethod>(target: object, name: string, wrap: (original: F) => F): MethodPatch | undefined {
  const holder = target as Record<string, unknown>;
  const original = holder[name];
  if (typeof original !== 'function' || (original as unknown as Record<symbol, unknown>)[ORIGINAL] !== undefined) return undefined;
  const wrapper = wrap(original as F);
  Object.defineProperty(wrapper, ORIGINAL, { value: original });
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  const own = Object.hasOwn(target, name);
  const descriptor = Object.getOwnPropertyDescriptor(target, name);
  Object.defineProperty(target, name, { value: wrapper, writable: true, configurable: true, enumerable: descriptor?.enumerable ?? false });
  return {
    restore() {
      if (holder[name] !== wrapper) return;
      if (own && descriptor !== undefined) Object.defineProperty(target, name, descriptor);
      else delete holder[name];
    },
  };
}

/** The prototype in `proto`'s chain that defines `name` itself (`pg.Pool` extends pg-pool's `Pool`). @internal */
export function ownerOf(proto: object | null | undefined, name: string): object | undefined {
  for (let p = proto; p !== null && p !== undefined && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.hasOwn(p, name)) return p;
  }
  return undefined;
}

/** An optional library the application may have, loaded by name. @internal */
export interface OptionalModule {
  /** One of its exports, whether it is an ES module, CommonJS, or CommonJS compiled from ES modules. */
  get<T>(name: string): T | undefined;
}

/** Loads an optional library by name; `undefined` when the application does not have it. @internal */
export async function loadOptional(specifier: string): Promise<OptionalModule | undefined> {
  let ns: Record<string, unknown>;
  try {
    // A specifier in a variable: no type declarations are needed and the library stays optional.
    ns = (await import(specifier)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const fallback = ns.default as Record<string, unknown> | undefined;
  return {
    get<T>(name: string): T | undefined {
      return (ns[name] ?? ((fallback !== null && typeof fallback === 'object') || typeof fallback === 'function' ? fallback?.[name] : undefined)) as T | undefined;
    },
  };
}

/**
 * The version of an installed library, as resolved from xrayjs (where `loadOptional` finds it);
 * `undefined` when it cannot be read.
 * @internal
 */
export function packageVersion(name: string): string | undefined {
  try {
    const here = directoryOfCaller();
    const require = createRequire(join(here ?? process.cwd(), 'noop.js'));
    const version = (require(`${name}/package.json`) as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}
