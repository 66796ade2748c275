import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

/** Binds a function to the current trace context, so it runs there whoever calls it later. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function bindContext<F extends (...args: any[]) => any>(fn: F): F {
  return AsyncResource.bind(fn) as unknown as F;
}

type Listener = (...args: unknown[]) => unknown;
type WithOriginal = Listener & { listener?: Listener };

const BOUND = Symbol.for('xrayjs.bound-emitter');

/**
 * Binds an event emitter's listeners to the context they are added in: each listener added from now
 * on runs in the trace context of the code that added it, whatever context emits the event (for
 * emitters created outside the request, such as pools and sockets).
 *
 * Removal works as on any emitter: `off`/`removeListener` with the function you added (also one added
 * with `once`), and `listeners()` lists the functions you added. Binding an emitter twice is a no-op.
 */
export function bindEmitter<E extends EventEmitter>(emitter: E): E {
  const target = emitter as unknown as Record<PropertyKey, unknown>;
  if (target[BOUND]) return emitter;
  const on = emitter.on;
  const prepend = emitter.prependListener;
  const once = emitter.once;
  const prependOnce = emitter.prependOnceListener;
  // Node's emitter matches a listener by `fn === listener || fn.listener === listener` and lists
  // `fn.listener ?? fn`: a bound function that carries the original is removed and listed as it.
  const bind = (listener: Listener): WithOriginal => {
    const bound = AsyncResource.bind(listener) as WithOriginal;
    bound.listener = listener;
    return bound;
  };
  const bindOnce = (self: EventEmitter, event: string | symbol, listener: Listener): WithOriginal => {
    const bound = AsyncResource.bind(listener);
    const wrapper: WithOriginal = function (this: unknown, ...args: unknown[]) {
      self.removeListener(event, wrapper);
      return bound.apply(this, args);
    };
    wrapper.listener = listener;
    return wrapper;
  };
  const define = (name: string, fn: (this: E, event: string | symbol, listener: Listener) => E): void => {
    Object.defineProperty(emitter, name, { value: fn, configurable: true, writable: true });
  };
  define('on', function (event, listener) {
    return typeof listener === 'function' ? on.call(this, event, bind(listener)) : on.call(this, event, listener);
  });
  define('addListener', function (event, listener) {
    return typeof listener === 'function' ? on.call(this, event, bind(listener)) : on.call(this, event, listener);
  });
  define('prependListener', function (event, listener) {
    return typeof listener === 'function' ? prepend.call(this, event, bind(listener)) : prepend.call(this, event, listener);
  });
  define('once', function (event, listener) {
    return typeof listener === 'function' ? on.call(this, event, bindOnce(this, event, listener)) : once.call(this, event, listener);
  });
  define('prependOnceListener', function (event, listener) {
    return typeof listener === 'function' ? prepend.call(this, event, bindOnce(this, event, listener)) : prependOnce.call(this, event, listener);
  });
  Object.defineProperty(emitter, BOUND, { value: true });
  return emitter;
}
