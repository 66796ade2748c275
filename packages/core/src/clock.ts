import { performance } from 'node:perf_hooks';

/**
 * Wall-clock milliseconds at monotonic time 0. Entity times are this anchor plus `performance.now()`:
 * the monotonic clock gives sub-microsecond durations that never jump, the anchor ties them to the
 * wall clock. @internal
 */
let anchor = Date.now() - performance.now();

/**
 * The anchor for a new segment: when the wall clock moved away from the monotonic clock by more than
 * a millisecond (NTP stepped it, the host was suspended), it follows the wall clock; otherwise it
 * stays, so that times of consecutive segments are as steady as the monotonic clock.
 * (`Date.now()` has millisecond resolution, so a new reading differs from the anchor by up to 1 ms.)
 * @internal
 */
export function wallAnchor(): number {
  const candidate = Date.now() - performance.now();
  const drift = candidate - anchor;
  if (drift > 1 || drift < -1) anchor = candidate;
  return anchor;
}

/** The current time in epoch seconds, with sub-microsecond resolution (X-Ray's `start_time`/`end_time`). */
export function epochSeconds(): number {
  return (wallAnchor() + performance.now()) / 1000;
}

/** Epoch seconds rounded to the microsecond: the precision documents carry. @internal */
export function roundEpoch(seconds: number): number {
  return seconds >= 0 && seconds < 9e9 ? Math.round(seconds * 1e6) / 1e6 : seconds;
}

/** `000` to `999`: microseconds are written as two table look-ups. */
const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Writes epoch seconds as JSON number text with exactly six decimals, the value of {@link roundEpoch},
 * after a fixed prefix (a document's `,"end_time":`, say). Writing a fresh double with `String()`
 * costs V8 ~0.3 µs (a shortest-digits search); this writes the whole seconds (cached with the prefix
 * and the point: they change once a second) and the microseconds as two table look-ups, so that a
 * time costs two concatenations. Values outside 0 to 9e9 (past 9e9 seconds, microseconds no longer
 * fit a double exactly) are written by `JSON.stringify`.
 * @internal
 */
export class EpochText {
  private second = -1;
  private head = '';

  constructor(private readonly prefix: string) {}

  write(seconds: number): string {
    if (!(seconds >= 0 && seconds < 9e9)) return this.prefix + (JSON.stringify(seconds) ?? '0');
    const micros = Math.round(seconds * 1e6);
    const whole = Math.floor(micros / 1e6);
    if (whole !== this.second) {
      this.second = whole;
      this.head = `${this.prefix}${whole}.`;
    }
    const fraction = micros - whole * 1e6;
    const thousands = Math.floor(fraction / 1000);
    return this.head + (DIGITS3[thousands] + DIGITS3[fraction - thousands * 1000]);
  }
}

const plainEpoch = new EpochText('');

/** Epoch seconds as JSON number text with exactly six decimals (see {@link EpochText}). @internal */
export function formatEpoch(seconds: number): string {
  return plainEpoch.write(seconds);
}
