import { activeEntity } from '@xrayjs/core';

import { acquirePatch } from './patch-method.js';

/**
 * Keeps an exception of the HTTP pipeline on the request segment, with no flag: whether it was a fault
 * is for the response status to say, since an exception filter may answer it with a 404 or a 200. (An
 * error recorded by a subsegment is referenced by its id.)
 * @internal
 */
export function recordOnSegment(exception: unknown): void {
  try {
    const segment = activeEntity()?.segment;
    if (segment === undefined || !segment.sampled) return;
    const recorder = segment.recorder;
    if (recorder) recorder.recordError(segment, exception, { flag: 'none' });
    else segment.addError(exception, { flag: 'none' });
  } catch {
    // recording never changes how Nest answers
  }
}

/**
 * Records every exception Nest's HTTP exception handling sees (middleware, guards, pipes,
 * interceptors, handlers, the 404 handler, body parser errors) on the request segment, before the
 * exception filters answer it. Nest has no public hook that sees guard and middleware errors, so this
 * wraps `ExceptionsHandler.prototype.next`; the wrapper never throws and always calls through.
 * Returns the release of the patch.
 * @internal
 */
export function recordNestExceptions(exceptionsHandler: object): () => void {
  return acquirePatch(exceptionsHandler, 'next', (original, isActive) =>
    function next(this: unknown, exception: unknown, host: unknown): unknown {
      if (isActive()) recordOnSegment(exception);
      return original.call(this, exception, host);
    },
  );
}
