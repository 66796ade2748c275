import { statusFlag, type ErrorFlag } from '@xrayjs/core';

/** The HTTP status of a Nest `HttpException` (or anything with `getStatus()`), if any. @internal */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const getStatus = (error as { getStatus?: unknown }).getStatus;
  if (typeof getStatus !== 'function') return undefined;
  try {
    const status = Number(getStatus.call(error));
    return Number.isInteger(status) ? status : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The flag an error sets: an `HttpException` by its status (a 404 is an `error`, a 429 a `throttle`,
 * a 5xx a `fault`); anything else is a `fault`.
 */
export function errorFlag(error: unknown): ErrorFlag {
  const status = httpStatusOf(error);
  // Not an HTTP exception, or a status past 5xx that no client reads: a fault.
  return status === undefined || status >= 600 ? 'fault' : statusFlag(status);
}
