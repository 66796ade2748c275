/** The instrumentations `AUTO_INSTRUMENT` switches, by name. */
export const INSTRUMENTATION_NAMES = ['http', 'fetch', 'aws-sdk', 'pg', 'mysql2', 'ioredis', 'redis', 'prisma', 'templates'] as const;

/** The name of one instrumentation. */
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];

/**
 * `AUTO_INSTRUMENT`: `true` (every instrumentation), `false` (none), a list of the names to turn on
 * (as Django's `PATCH_MODULES`), or an object that turns single ones off (`{ 'aws-sdk': false }`; the
 * others stay on).
 */
export type AutoInstrumentOption = boolean | readonly InstrumentationName[] | Partial<Record<InstrumentationName, boolean>>;

/**
 * One library family that xrayjs traces with no code change. Instrumentations hook in once per process
 * (a diagnostics channel subscription, or a patch where the library publishes no events) and record
 * only for recorders that turned them on; they find the recorder through the current segment.
 * @internal
 */
export interface Instrumentation {
  readonly name: InstrumentationName;
  /** What it traces, for the README and diagnostics. */
  readonly covers: string;
  /** The library versions it supports. */
  readonly versions: string;
  /** How it hooks in: `channel` (diagnostics_channel), `patch`, or both. */
  readonly hook: string;
  /** Hooks in (idempotent). May load the library, hence a promise. */
  enable(): void | Promise<void>;
  /** Takes the hooks out again (idempotent). */
  disable(): void;
}
