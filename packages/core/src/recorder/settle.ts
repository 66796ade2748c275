import { types } from 'node:util';

import { traceContext, type TraceEntity } from '../context/trace-context.js';
import { describeValue, diag } from '../diag.js';

/** Records a failure on an entity (the recorder's classification decides the flag). @internal */
export type OnError = (entity: TraceEntity, error: unknown) => void;

/**
 * Runs `fn(entity)` with `entity` as the current entity and closes `entity` when the work is over,
 * recording an error (which is rethrown, or rejected, unchanged). What `fn` returns comes back as it
 * is, whatever it is:
 * - a native Promise is chained (the promise that comes back settles as the original does);
 * - any other thenable (a knex query builder, a Mongoose `Query`, a `PrismaPromise`) is returned as
 *   the very object: its work starts when someone calls `then`, so `then` is hooked on that one object
 *   (and put back at its first call), and the work runs in `entity` and closes it when it settles;
 * - a generator (sync or async) is returned as the very object, its `next`/`return`/`throw` run in
 *   `entity`, and `entity` closes when the iteration is done, returns or throws;
 * - anything else closes `entity` at once.
 * With `leaveOpen(result)` true the entity stays open for the caller (an Observable starts later).
 * @internal
 */
export function runSettled<T, E extends TraceEntity>(entity: E, fn: (entity: E) => T, onError: OnError, leaveOpen?: (result: T) => boolean): T {
  let result: T;
  try {
    result = traceContext.runWithArg(entity, fn);
  } catch (error) {
    onError(entity, error);
    entity.close();
    throw error;
  }
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
    entity.close();
    return result;
  }
  if (leaveOpen !== undefined && leaveOpen(result)) return result;
  return settleLater(entity, result, onError);
}

function settleLater<T>(entity: TraceEntity, result: T, onError: OnError): T {
  try {
    if (isNativePromise(result)) {
      return (result as Promise<unknown>).then(
        (value) => {
          entity.close();
          return value;
        },
        (error: unknown) => {
          onError(entity, error);
          entity.close();
          throw error;
        },
      ) as T;
    }
    if (types.isGeneratorObject(result)) {
      hookGenerator(entity, result as unknown as GeneratorLike, onError);
      return result;
    }
    const then = (result as { then?: unknown }).then;
    if (typeof then === 'function') {
      hookThen(entity, result as object, then as ThenFn, onError);
      return result;
    }
  } catch (e) {
    // A getter (`then`) or a Proxy trap that throws: the value goes back untouched, the span ends here.
    diag.warn('result_unreadable', `A traced function returned a value that could not be inspected (${describeValue(e)}); its subsegment ends when the function returned.`);
  }
  entity.close();
  return result;
}

/** A native promise of any realm, not a subclass (whose extra methods chaining would lose). */
function isNativePromise(value: unknown): boolean {
  if (!types.isPromise(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Promise.prototype || (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name === 'Promise';
}

/** Closes `entity` once, recording the error of a failure; `done` once it has. */
function finisher(entity: TraceEntity, onError: OnError): ((error: unknown, failed: boolean) => void) & { done: boolean } {
  const finish = ((error: unknown, failed: boolean): void => {
    if (finish.done) return;
    finish.done = true;
    if (failed) onError(entity, error);
    entity.close();
  }) as ((error: unknown, failed: boolean) => void) & { done: boolean };
  finish.done = false;
  return finish;
}

type ThenFn = (this: unknown, onFulfilled?: unknown, onRejected?: unknown) => unknown;

function hookThen(entity: TraceEntity, target: object, original: ThenFn, onError: OnError): void {
  const own = Object.getOwnPropertyDescriptor(target, 'then');
  const finish = finisher(entity, onError);
  const hooked = function (this: unknown, onFulfilled?: unknown, onRejected?: unknown): unknown {
    // Only the first `then` is the work being traced; put the object back as it was.
    try {
      if (own) Object.defineProperty(target, 'then', own);
      else delete (target as { then?: unknown }).then;
    } catch {
      // a sealed object keeps the hook, which passes through once settled
    }
    if (finish.done) return original.call(this, onFulfilled, onRejected);
    try {
      return traceContext.run(entity, () =>
        original.call(
          this,
          (value: unknown) => {
            finish(undefined, false);
            return typeof onFulfilled === 'function' ? (onFulfilled as (v: unknown) => unknown)(value) : value;
          },
          (error: unknown) => {
            finish(error, true);
            if (typeof onRejected === 'function') return (onRejected as (e: unknown) => unknown)(error);
            throw error;
          },
        ),
      );
    } catch (error) {
      finish(error, true);
      throw error;
    }
  };
  try {
    Object.defineProperty(target, 'then', { value: hooked, configurable: true, writable: true, enumerable: own?.enumerable ?? false });
  } catch {
    diag.warn('thenable_not_hooked', 'A traced function returned a frozen thenable; its subsegment ends when the function returned, not when the thenable settles.');
    finish(undefined, false);
  }
}

interface GeneratorLike {
  next(value?: unknown): unknown;
  return(value?: unknown): unknown;
  throw(error?: unknown): unknown;
}

function hookGenerator(entity: TraceEntity, generator: GeneratorLike, onError: OnError): void {
  const isAsync = Object.prototype.toString.call(generator) === '[object AsyncGenerator]';
  const finish = finisher(entity, onError);
  const onStep = (step: unknown): unknown => {
    if ((step as { done?: unknown } | null)?.done === true) finish(undefined, false);
    return step;
  };
  for (const method of ['next', 'return', 'throw'] as const) {
    const original = generator[method];
    const traced = function (this: unknown, arg?: unknown): unknown {
      let step: unknown;
      try {
        step = traceContext.run(entity, () => original.call(this, arg));
      } catch (error) {
        finish(error, true);
        throw error;
      }
      if (!isAsync) return onStep(step);
      return (step as Promise<unknown>).then(onStep, (error: unknown) => {
        finish(error, true);
        throw error;
      });
    };
    Object.defineProperty(generator, method, { value: traced, configurable: true, writable: true, enumerable: false });
  }
}
