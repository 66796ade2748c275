/** The flag an error or a status sets: `throttle` also sets `error`; `none` sets nothing. */
export type ErrorFlag = 'fault' | 'error' | 'throttle' | 'none';

/** The flag of an HTTP status, as X-Ray reads it: 5xx `fault`, 429 `throttle`, other 4xx `error`. */
export function statusFlag(status: number): ErrorFlag {
  if (status >= 500 && status < 600) return 'fault';
  if (status === 429) return 'throttle';
  if (status >= 400 && status < 500) return 'error';
  return 'none';
}
