import type { AddErrorOptions } from '@xrayjs/core';

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
export function errorFlag(error: unknown): AddErrorOptions['flag'] {
  const status = httpStatusOf(error);
  if (status === undefined || status >= 500) return 'fault';
  if (status === 429) return 'throttle';
  if (status >= 400) return 'error';
  return 'none';
}
