import type { ContextMissingHandler, ContextMissingStrategy } from '../config/config.js';
import { diag } from '../diag.js';
import { SegmentNotFoundError } from '../errors.js';

/**
 * Applies the context-missing strategy for an operation that found no segment: `RUNTIME_ERROR`
 * throws, `LOG_ERROR` logs once per operation, `IGNORE_ERROR` only counts, a function is called with
 * the message. Every case is counted under `context_missing` in `recorder.stats()`.
 * @internal
 */
export function contextMissing(strategy: ContextMissingStrategy | ContextMissingHandler, operation: string): void {
  const message = `${operation}: cannot find the current segment/subsegment, please make sure you have a segment open.`;
  if (typeof strategy === 'function') {
    diag.count('context_missing');
    try {
      strategy(message);
    } catch {
      // a handler that throws does not reach the caller (RUNTIME_ERROR is the way to throw)
    }
    return;
  }
  switch (strategy) {
    case 'RUNTIME_ERROR':
      diag.count('context_missing');
      throw new SegmentNotFoundError(operation);
    case 'LOG_ERROR':
      diag.error(
        'context_missing',
        `${message} Outside a request, wrap the work in recorder.captureSegment(name, fn). (Logged once per operation; counted in recorder.stats().)`,
        operation,
      );
      return;
    default:
      diag.count('context_missing');
  }
}
