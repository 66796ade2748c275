import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

/** The current time in epoch seconds, with sub-microsecond resolution (X-Ray's `start_time`/`end_time`). */
export function epochSeconds(): number {
  return (origin + performance.now()) / 1000;
}

/** Epoch seconds rounded to the microsecond: the precision documents carry. @internal */
export function roundEpoch(seconds: number): number {
  return seconds >= 0 && seconds < 9e9 ? Math.round(seconds * 1e6) / 1e6 : seconds;
}

/** `000` to `999`: microseconds are written as two table look-ups. */
const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

let lastSecond = -1;
let lastSecondText = '';

/**
 * Epoch seconds as JSON number text with exactly six decimals, the value of {@link roundEpoch}.
 * Writing a fresh double with `String()` costs V8 ~0.3 µs (a shortest-digits search); this writes the
 * whole seconds (cached, they change once a second) and the microseconds as two integers. Values
 * outside 0 to 9e9 (past 9e9 seconds, microseconds no longer fit a double exactly) are written by `JSON.stringify`.
 * @internal
 */
export function formatEpoch(seconds: number): string {
  if (!(seconds >= 0 && seconds < 9e9)) return JSON.stringify(seconds);
  const micros = Math.round(seconds * 1e6);
  const whole = Math.floor(micros / 1e6);
  if (whole !== lastSecond) {
    lastSecond = whole;
    lastSecondText = String(whole);
  }
  const fraction = micros - whole * 1e6;
  const thousands = Math.floor(fraction / 1000);
  return `${lastSecondText}.${DIGITS3[thousands]}${DIGITS3[fraction - thousands * 1000]}`;
}
