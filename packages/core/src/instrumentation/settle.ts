import { traceContext, type TraceEntity } from '../context/trace-context.js';

/** A Node-style callback of an instrumented library. @internal */
export type NodeCallback = (error: unknown, ...rest: unknown[]) => unknown;

/**
 * Wraps a callback so that `before` sees its error first and the callback runs in `entity` (the trace of
 * the caller), whichever socket event the library calls it from: a connection another request released
 * would otherwise hand its callback that request's trace.
 * @internal
 */
export function callbackInCaller(entity: TraceEntity | undefined, callback: NodeCallback, before: (error: unknown) => void): NodeCallback {
  return function (this: unknown, error: unknown, ...rest: unknown[]) {
    before(error);
    return traceContext.run(entity, () => callback.call(this, error, ...rest));
  };
}

/**
 * Calls `done` once the result of an instrumented call is in: with the rejection of a promise (or any
 * thenable), or with `undefined` and the value when it fulfils. The caller keeps `result` itself, the very object
 * the library returned: `done` runs on a branch of it that handles the rejection, which leaves the
 * caller's own handling (or the lack of it) as it is untraced. Returns `false` for a plain value.
 * @internal
 */
export function whenSettled(result: unknown, done: (error: unknown, value?: unknown) => void): boolean {
  const then = (result as { then?: unknown } | null | undefined)?.then;
  if (typeof then !== 'function') return false;
  (then as (ok: (value: unknown) => void, fail: (e: unknown) => void) => unknown).call(
    result,
    (value: unknown) => done(undefined, value),
    (error: unknown) => done(error ?? new Error('rejected without a reason')),
  );
  return true;
}
