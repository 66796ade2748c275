import { types } from 'node:util';

/**
 * The logger xrayjs writes to. `LoggerService` of NestJS and `console` both fit.
 */
export interface XRayLogger {
  error(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  log?(message: string, ...rest: unknown[]): void;
  debug?(message: string, ...rest: unknown[]): void;
}

/* eslint-disable no-console -- the default logger of a framework-free library is the console */
const consoleLogger: XRayLogger = {
  error: (message) => console.error(`[xrayjs] ${message}`),
  warn: (message) => console.warn(`[xrayjs] ${message}`),
  log: (message) => console.log(`[xrayjs] ${message}`),
};
/* eslint-enable no-console */

/** A logger that drops everything. */
export const SILENT_LOGGER: XRayLogger = { error: () => {}, warn: () => {} };

/** Distinct message keys remembered for "log once"; past this, keys are no longer told apart. @internal */
const MAX_ONCE_KEYS = 1000;

/**
 * Diagnostics of the library itself: one logger, and counters for every kind of problem so that
 * a problem that repeats is logged once and then only counted (see `Recorder.stats()`).
 * @internal
 */
class Diagnostics {
  logger: XRayLogger = consoleLogger;
  readonly counts = new Map<string, number>();
  private readonly said = new Set<string>();

  setLogger(logger: XRayLogger | false | undefined): void {
    this.logger = logger === false ? SILENT_LOGGER : (logger ?? consoleLogger);
  }

  /** Counts a problem of `kind`; logs it the first time `kind` (plus `detail`, when given) is seen. */
  problem(level: 'error' | 'warn', kind: string, message: string, detail = ''): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const key = detail ? `${kind}\u0000${detail}` : kind;
    if (this.said.has(key)) return;
    if (this.said.size < MAX_ONCE_KEYS) this.said.add(key);
    else if (this.said.has(kind)) return;
    else this.said.add(kind);
    try {
      this.logger[level](message);
    } catch {
      // A logger that throws must not break the caller either.
    }
  }

  /** Counts a problem of `kind` without logging it. */
  count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  warn(kind: string, message: string, detail?: string): void {
    this.problem('warn', kind, message, detail);
  }

  error(kind: string, message: string, detail?: string): void {
    this.problem('error', kind, message, detail);
  }

  debug(message: string): void {
    try {
      this.logger.debug?.(message);
    } catch {
      // ignored, as above
    }
  }

  /** Forgets what was logged and counted (tests, reconfiguration). */
  reset(): void {
    this.counts.clear();
    this.said.clear();
  }
}

/** @internal */
export const diag = new Diagnostics();

/**
 * A short, printable description of any value for a log message: never throws, whatever the value
 * (a Proxy whose traps throw, an object whose `toString` throws, a symbol). @internal
 */
export function describeValue(value: unknown, max = 80): string {
  let text: string;
  try {
    switch (typeof value) {
      case 'string':
        text = JSON.stringify(value);
        break;
      case 'function':
        text = 'a function';
        break;
      case 'object':
        if (value instanceof Error || types.isNativeError(value)) {
          const message: unknown = value.message;
          text = typeof message === 'string' && message.length > 0 ? message : String(value.name);
        } else text = value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
        break;
      case 'symbol':
        text = value.toString();
        break;
      default:
        text = String(value);
    }
  } catch {
    text = `a ${typeof value}`;
  }
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
