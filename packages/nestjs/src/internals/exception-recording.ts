import { ExceptionsHandler } from '@nestjs/core/exceptions/exceptions-handler.js';
import { recorder } from '@xrayjs/core';

const PATCHED = Symbol.for('xrayjs.nestjs.exceptions-handler');

/**
 * Records every exception Nest's HTTP exception handling sees (middleware, guards, pipes,
 * interceptors, handlers, the 404 handler, body parser errors) on the request segment, before the
 * exception filters answer it. Nest has no public hook that sees guard and middleware errors, so this
 * wraps `ExceptionsHandler.prototype.next` once; the wrapper never throws and always calls through.
 * @internal
 */
export function recordNestExceptions(): void {
  const proto = ExceptionsHandler.prototype as unknown as Record<PropertyKey, unknown> & {
    next: (exception: unknown, host: unknown) => unknown;
  };
  if (proto[PATCHED]) return;
  const original = proto.next;
  proto.next = function next(this: unknown, exception: unknown, host: unknown): unknown {
    try {
      const segment = recorder.activeEntity()?.segment;
      if (segment) recorder.recordError(segment, exception);
    } catch {
      // recording never changes how Nest answers
    }
    return original.call(this, exception, host);
  };
  proto[PATCHED] = true;
}
