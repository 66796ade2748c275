import { describeValue, diag } from '../diag.js';
import { awsSdkInstrumentation } from './aws/aws-sdk.js';
import { fetchInstrumentation } from './http/fetch.js';
import { nodeHttpInstrumentation } from './http/node-http.js';
import { ioredisInstrumentation } from './redis/ioredis.js';
import { nodeRedisInstrumentation } from './redis/node-redis.js';
import { mysql2Instrumentation } from './sql/mysql2.js';
import { pgInstrumentation } from './sql/pg.js';
import { prismaInstrumentation } from './sql/prisma.js';
import type { Instrumentation, InstrumentationName } from './instrumentation.js';

/**
 * The instrumentations of the process, and which recorders use each. A hook goes in when the first
 * recorder turns it on and comes out when the last one that did shuts down; each recorder's own
 * setting decides whether its segments record the calls (`Recorder.instruments(name)`).
 * @internal
 */
class InstrumentationRegistry {
  private readonly all: Instrumentation[] = [nodeHttpInstrumentation, fetchInstrumentation, awsSdkInstrumentation, pgInstrumentation, mysql2Instrumentation, prismaInstrumentation, ioredisInstrumentation, nodeRedisInstrumentation];
  private readonly holders = new Map<InstrumentationName, Set<object>>();

  /** Every built-in instrumentation. */
  list(): readonly Instrumentation[] {
    return this.all;
  }

  /** Turns `names` on for `holder`; resolves once each hook is in. Failures are logged, never thrown. */
  async acquire(holder: object, names: ReadonlySet<InstrumentationName>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const instrumentation of this.all) {
      if (!names.has(instrumentation.name)) continue;
      let set = this.holders.get(instrumentation.name);
      if (set === undefined) this.holders.set(instrumentation.name, (set = new Set()));
      const first = set.size === 0;
      set.add(holder);
      if (first) {
        pending.push(
          Promise.resolve()
            .then(() => instrumentation.enable())
            .catch((e: unknown) => diag.error('instrumentation_failed', `The ${instrumentation.name} instrumentation could not hook in: ${describeValue(e)}`, instrumentation.name)),
        );
      }
    }
    await Promise.all(pending);
  }

  /** Lets go of everything `holder` turned on. */
  release(holder: object): void {
    for (const instrumentation of this.all) {
      const set = this.holders.get(instrumentation.name);
      if (set === undefined || !set.delete(holder) || set.size > 0) continue;
      try {
        instrumentation.disable();
      } catch (e) {
        diag.error('instrumentation_failed', `The ${instrumentation.name} instrumentation could not be taken out: ${describeValue(e)}`, instrumentation.name);
      }
    }
  }

  /** How many recorders use `name` (tests, diagnostics). */
  holdersOf(name: InstrumentationName): number {
    return this.holders.get(name)?.size ?? 0;
  }
}

/** The process-wide registry. @internal */
export const instrumentations: InstrumentationRegistry = ((globalThis as Record<symbol, unknown>)[Symbol.for('xrayjs.instrumentations')] ??=
  new InstrumentationRegistry()) as InstrumentationRegistry;
