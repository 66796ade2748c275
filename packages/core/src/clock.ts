import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

/** The current time in epoch seconds, with microsecond precision (X-Ray's `start_time`/`end_time`). */
export function epochSeconds(): number {
  return (origin + performance.now()) / 1000;
}
