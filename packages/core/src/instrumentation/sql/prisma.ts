import { traceContext } from '../../context/trace-context.js';
import { describeValue, diag } from '../../diag.js';
import { Subsegment } from '../../model/subsegment.js';
import type { Instrumentation } from '../instrumentation.js';
import { callContext } from '../remote-call.js';
import { whenSettled } from '../settle.js';

/** The options Prisma's client passes for a span it would open (`@prisma/client` 5 to 7). */
interface SpanOptions {
  name?: unknown;
  attributes?: { name?: unknown; model?: unknown; method?: unknown };
}

/**
 * The tracing helper Prisma's client looks for on `globalThis` (`PRISMA_INSTRUMENTATION`, or
 * `V<major>_PRISMA_INSTRUMENTATION` first): what `@prisma/instrumentation` installs for OpenTelemetry.
 */
interface TracingHelper {
  isEnabled(): boolean;
  getTraceParent(context?: unknown): string;
  dispatchEngineSpans(tracer: unknown, spans: unknown[], emit: (span: unknown) => void): unknown;
  getActiveContext(): unknown;
  runInChildSpan<R>(options: unknown, fn: (...args: unknown[]) => R): R;
}

/** The globals Prisma 5, 6 and 7 read, in the order they read them. */
const GLOBALS = ['V7_PRISMA_INSTRUMENTATION', 'V6_PRISMA_INSTRUMENTATION', 'V5_PRISMA_INSTRUMENTATION', 'PRISMA_INSTRUMENTATION'] as const;
/** What Prisma does when no helper is installed: no trace parent ("00-10-10-00" is its own), no spans. */
const NO_TRACE_PARENT = '00-10-10-00';

/**
 * The subsegment name of an operation: `prisma:User.findMany`, `prisma:queryRaw`, `prisma:transaction`
 * (X-Ray names cannot hold the `$` of `$queryRaw`; `metadata.prisma` has Prisma's model and method).
 */
function operationName(options: SpanOptions): string | undefined {
  if (options.name === 'operation') {
    const name = options.attributes?.name;
    return typeof name === 'string' && name.length > 0 ? `prisma:${name}` : undefined;
  }
  if (options.name === 'transaction') return 'prisma:transaction';
  return undefined;
}

/** Runs one Prisma operation in its subsegment; what Prisma returns is returned unchanged. */
function runOperation<R>(options: unknown, fn: (...args: unknown[]) => R, next: (options: unknown, fn: (...args: unknown[]) => R) => R): R {
  const context = callContext('prisma');
  if (context === undefined || !context.sampled || options === null || typeof options !== 'object') return next(options, fn);
  let sub: Subsegment;
  try {
    const name = operationName(options as SpanOptions);
    if (name === undefined) return next(options, fn);
    sub = new Subsegment(name, context.parent);
    const { model, method } = (options as SpanOptions).attributes ?? {};
    const prisma: Record<string, unknown> = {};
    if (typeof model === 'string') prisma.model = model;
    if (typeof method === 'string') prisma.method = method;
    sub.metadata = { prisma };
  } catch (e) {
    diag.warn('prisma_instrumentation_failed', `A Prisma operation could not be traced: ${describeValue(e)}`);
    return next(options, fn);
  }
  let result: R;
  try {
    result = traceContext.run(sub, () => next(options, fn));
  } catch (error) {
    sub.addError(error);
    sub.close();
    throw error;
  }
  const settled = whenSettled(result, (error) => {
    if (error !== undefined) sub.addError(error);
    sub.close();
  });
  if (!settled) sub.close();
  return result;
}

/** The helper xrayjs installs; it hands every call on to a helper that was there before (OpenTelemetry's). */
function helperOver(previous: TracingHelper | undefined): TracingHelper {
  return {
    isEnabled: () => true,
    getTraceParent: (context?: unknown) => previous?.getTraceParent(context) ?? NO_TRACE_PARENT,
    dispatchEngineSpans(tracer, spans, emit) {
      if (previous !== undefined) return previous.dispatchEngineSpans(tracer, spans, emit);
      for (const span of spans) emit(span);
      return undefined;
    },
    getActiveContext: () => previous?.getActiveContext(),
    runInChildSpan<R>(options: unknown, fn: (...args: unknown[]) => R): R {
      const next = previous === undefined || !previous.isEnabled() ? (_: unknown, f: (...args: unknown[]) => R) => f() : (o: unknown, f: (...args: unknown[]) => R) => previous.runInChildSpan(o, f);
      return runOperation(options, fn, next);
    },
  };
}

/** What each global held before xrayjs installed its helper. */
let saved: Map<string, unknown> | undefined;
let installed: { helper: TracingHelper } | undefined;

/**
 * Prisma (`@prisma/client` 5 to 7, with a driver adapter such as `@prisma/adapter-pg` or the query
 * engine): every model operation and raw query a `local` subsegment named after it
 * (`prisma:User.findMany`, `prisma:queryRaw`, `prisma:transaction`), with the driver's queries under
 * it. Prisma looks for a tracing helper on `globalThis` (the hook `@prisma/instrumentation` uses);
 * xrayjs installs one, with no preview feature to turn on, and passes everything on to a helper that
 * was there before, so that OpenTelemetry's Prisma instrumentation keeps working beside it.
 * @internal
 */
export const prismaInstrumentation: Instrumentation = {
  name: 'prisma',
  covers: 'Prisma Client (model operations, raw queries, $transaction); the SQL comes from the driver beneath (pg, mysql2)',
  versions: '@prisma/client 5 to 7 (7.10 with @prisma/adapter-pg tested)',
  hook: 'Prisma\u2019s global tracing helper (globalThis.PRISMA_INSTRUMENTATION)',
  enable() {
    if (installed !== undefined) return;
    const g = globalThis as Record<string, unknown>;
    saved = new Map(GLOBALS.map((key) => [key, g[key]]));
    let previous: TracingHelper | undefined;
    for (const key of GLOBALS) {
      const helper = (g[key] as { helper?: TracingHelper } | undefined)?.helper;
      if (helper !== undefined && typeof helper.runInChildSpan === 'function') {
        previous = helper;
        break;
      }
    }
    installed = { helper: helperOver(previous) };
    for (const key of GLOBALS) g[key] = installed;
  },
  disable() {
    if (installed === undefined || saved === undefined) return;
    const g = globalThis as Record<string, unknown>;
    for (const key of GLOBALS) {
      // Put back what was there, unless someone installed a helper of their own over ours since.
      if (g[key] !== installed) continue;
      const before = saved.get(key);
      if (before === undefined) delete g[key];
      else g[key] = before;
    }
    installed = undefined;
    saved = undefined;
  },
};
