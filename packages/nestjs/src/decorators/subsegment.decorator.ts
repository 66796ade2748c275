import { activeEntity, ambientRecorder, isNoop, type Segment, type Subsegment as CoreSubsegment } from '@xrayjs/core';
import { isObservable, Observable } from 'rxjs';

import { copyMethodMetadata } from '../utils/copy-method-metadata.js';
import { NO_SUBSEGMENT, WRAPPED } from '../xray.constants.js';

/** Options of `@Subsegment()`. */
export interface SubsegmentOptions {
  /** `remote` for calls to other services. @default 'local' */
  namespace?: string;
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type Parent = Segment | CoreSubsegment;

/** Runs an Observable's subscription in a subsegment that spans subscribe to complete, error or unsubscribe. */
function traceObservable(source: Observable<unknown>, first: CoreSubsegment, parent: Parent, name: string, namespace: string | undefined): Observable<unknown> {
  const recorder = parent.segment.recorder ?? ambientRecorder();
  let firstUsed = false;
  return new Observable<unknown>((subscriber) => {
    let sub: CoreSubsegment;
    if (!firstUsed) {
      firstUsed = true;
      sub = first;
      // Re-attached at subscription: the subsegment starts when the work does.
      sub.reattach();
    } else {
      sub = recorder.beginSubsegment(name, { parent, namespace });
    }
    let done = false;
    const inner = recorder.runWith(sub, () =>
      source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          done = true;
          recorder.recordError(sub, error);
          sub.close();
          subscriber.error(error);
        },
        complete: () => {
          done = true;
          sub.close();
          subscriber.complete();
        },
      }),
    );
    return () => {
      inner.unsubscribe();
      if (!done) {
        sub.putMetadata('unsubscribed', true, 'xrayjs');
        sub.close();
      }
    };
  });
}

function wrap(original: AnyFunction, name: string, options: SubsegmentOptions): AnyFunction {
  const namespace = options.namespace;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const parent = activeEntity();
    if (parent === undefined) {
      // No segment: the recorder of this application applies its context-missing strategy
      // (RUNTIME_ERROR throws); the method still runs.
      return ambientRecorder().capture(name, () => original.apply(this, args));
    }
    if (!parent.sampled) return original.apply(this, args);
    // The subsegment belongs to the segment's recorder, whichever application made it.
    const recorder = parent.segment.recorder ?? ambientRecorder();
    const sub = recorder.beginSubsegment(name, { parent, namespace });
    if (isNoop(sub)) return original.apply(this, args);
    // Closed when the work is over (a Promise settles, a thenable that was awaited settles, a generator
    // finishes), errors recorded and rethrown; an Observable has not run yet, so its subsegment is
    // detached until someone subscribes.
    const result = recorder.runSettled(sub, () => original.apply(this, args), isObservable);
    if (!sub.closed && isObservable(result)) {
      sub.detach();
      return traceObservable(result, sub, parent, name, namespace);
    }
    return result;
  };
  copyMethodMetadata(original, wrapped);
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  return wrapped;
}

/**
 * Traces a method, or every method of a class, as a subsegment of the current request (or of a
 * segment opened with `XRayRecorder.captureSegment()`).
 *
 * - Sync, Promise and Observable results: an Observable's subsegment spans subscription to
 *   completion, error or unsubscribe. Other thenables (query builders, a `PrismaPromise`) come back
 *   as the very object, and the subsegment spans their work once awaited; a generator (sync or
 *   async) comes back as the very object, and the subsegment spans its iteration.
 * - Default name `ClassName.methodName`.
 * - Errors are recorded (an `HttpException` by its status) and rethrown unchanged; `this` and the
 *   arguments are untouched; other decorators' metadata (`@Get`, `@UseGuards`, `@MessagePattern`, ...)
 *   survives in any order.
 * - On a class, `@NoSubsegment()` leaves a method out; a method's own `@Subsegment()` wins.
 * - With no segment the context-missing strategy applies and the method still runs (except under
 *   `RUNTIME_ERROR`, which throws).
 *
 * @example @Subsegment() async find(id: string) { ... }
 * @example @Subsegment('db.orders', { namespace: 'remote' }) query() { ... }
 */
export function Subsegment(name?: string, options: SubsegmentOptions = {}): ClassDecorator & MethodDecorator {
  return ((target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (propertyKey === undefined) {
      if (typeof target !== 'function') throw new TypeError('@Subsegment() decorates classes and methods only.');
      const proto = (target as { prototype: object }).prototype;
      const className = (target as { name: string }).name;
      for (const key of Reflect.ownKeys(proto)) {
        if (key === 'constructor') continue;
        const d = Object.getOwnPropertyDescriptor(proto, key);
        if (!d || typeof d.value !== 'function' || d.get || d.set) continue;
        const fn = d.value as AnyFunction & { [WRAPPED]?: boolean; [NO_SUBSEGMENT]?: boolean };
        if (fn[WRAPPED] || fn[NO_SUBSEGMENT]) continue;
        const label = name ? `${name}.${String(key)}` : `${className}.${String(key)}`;
        Object.defineProperty(proto, key, { ...d, value: wrap(fn, label, options) });
      }
      return undefined;
    }
    if (!descriptor || typeof descriptor.value !== 'function') {
      throw new TypeError(`@Subsegment() on ${String(propertyKey)}: only methods (and classes) can be traced.`);
    }
    const className = (target as { constructor: { name: string } }).constructor.name;
    descriptor.value = wrap(descriptor.value as AnyFunction, name ?? `${className}.${String(propertyKey)}`, options);
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}

/**
 * Leaves a method out of a class-level `@Subsegment()`.
 *
 * @example @NoSubsegment() healthCheck() { ... }
 */
export function NoSubsegment(): MethodDecorator {
  return (_target, propertyKey, descriptor) => {
    if (typeof descriptor.value !== 'function') {
      throw new TypeError(`@NoSubsegment() on ${String(propertyKey)}: only methods can be marked.`);
    }
    Object.defineProperty(descriptor.value, NO_SUBSEGMENT, { value: true });
    return descriptor;
  };
}
