import { AsyncLocalStorage } from 'node:async_hooks';

import type { Segment } from '../model/segment.js';
import type { Subsegment } from '../model/subsegment.js';

/** What the running code belongs to: a segment, or the innermost open subsegment. */
export type TraceEntity = Segment | Subsegment;

/**
 * The async context: which entity the running code belongs to. One `AsyncLocalStorage` for the
 * process, so that every copy of `@xrayjs/core` that gets loaded sees the same context.
 *
 * There is no way to make an entity current except for the duration of a function (`run`): nothing
 * here uses `enterWith`, so an entity can never stay current in a caller's continuation after the
 * work it stood for is over.
 */
const storage: AsyncLocalStorage<TraceEntity | undefined> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('xrayjs.context')
] ??= new AsyncLocalStorage<TraceEntity | undefined>()) as AsyncLocalStorage<TraceEntity | undefined>;

/** @internal */
export const traceContext = {
  /** The storage itself, for `diagnostics_channel` stores bound to it. */
  storage,
  /** The current entity. */
  get(): TraceEntity | undefined {
    return storage.getStore();
  },
  /** Runs `fn` with `entity` as the current entity; everything `fn` starts inherits it. */
  run<T>(entity: TraceEntity | undefined, fn: () => T): T {
    return storage.run(entity, fn);
  },
  /** `run()` that hands `entity` to `fn` (no closure needed to pass it). */
  runWithArg<T, E extends TraceEntity>(entity: E, fn: (entity: E) => T): T {
    return storage.run(entity, fn, entity);
  },
};

/**
 * The current segment or subsegment, whichever recorder made it: `undefined` outside any trace. For
 * integrations (decorators, instrumentations) that find the recorder through the entity.
 */
export function activeEntity(): TraceEntity | undefined {
  return storage.getStore();
}
