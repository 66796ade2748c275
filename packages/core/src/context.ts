import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

import type { Entity } from './entity.js';

/**
 * The async context: which entity (segment or innermost open subsegment) the running code belongs to.
 * One `AsyncLocalStorage` for the process, so that every package that imports `@xrayjs/core` sees
 * the same context.
 */
const storage: AsyncLocalStorage<Entity> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('xrayjs.context')
] ??= new AsyncLocalStorage<Entity>()) as AsyncLocalStorage<Entity>;

/** @internal */
export const traceContext = {
  /** The current entity. */
  get(): Entity | undefined {
    return storage.getStore();
  },
  /** Runs `fn` with `entity` as the current entity; everything `fn` starts inherits it. */
  run<T>(entity: Entity | undefined, fn: () => T): T {
    return storage.run(entity as Entity, fn);
  },
  /** `run()` that hands `entity` to `fn` (no closure needed to pass it). */
  runWithArg<T, E extends Entity>(entity: E, fn: (entity: E) => T): T {
    return storage.run(entity, fn, entity);
  },
  /** Makes `entity` current for the rest of this synchronous run and what it starts. */
  enter(entity: Entity | undefined): void {
    storage.enterWith(entity as Entity);
  },
};

/** Binds a function to the current trace context, so it runs there whoever calls it later. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function bindContext<F extends (...args: any[]) => any>(fn: F): F {
  return AsyncResource.bind(fn) as unknown as F;
}

/**
 * Binds an event emitter's listeners to the current context: listeners added from now on run in it,
 * whatever context emits the event (for emitters created outside the request, such as pools).
 */
export function bindEmitter<E extends EventEmitter>(emitter: E): E {
  for (const method of ['on', 'once', 'addListener', 'prependListener', 'prependOnceListener'] as const) {
    const original = emitter[method];
    const wrapped = function (this: E, event: string | symbol, listener: (...args: unknown[]) => void) {
      return original.call(this, event, AsyncResource.bind(listener));
    };
    Object.defineProperty(emitter, method, { value: wrapped, configurable: true, writable: true });
  }
  return emitter;
}
