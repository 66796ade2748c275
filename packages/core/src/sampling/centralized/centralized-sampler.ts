import { randomBytes } from 'node:crypto';

import { describeValue, diag } from '../../diag.js';
import type { DaemonEndpoint } from '../../emitting/daemon-address.js';
import { withoutTracing } from '../../instrumentation/suppression.js';
import { LocalSampler } from '../local-sampler.js';
import type { Sampler, SamplingRequest } from '../sampler.js';
import { SamplingApiClient, type SamplingApiClientOptions } from './sampling-api-client.js';
import { DEFAULT_RULE_NAME, lowerRequest, SamplingRule, type RuleStatistics, type SamplingRuleDefinition, type SamplingRuleState } from './sampling-rule.js';

/**
 * The timers the pollers use (a fake clock in tests). A callback returns the promise of the poll it
 * started, so that a fake clock can wait for the round trip.
 */
export interface SamplerTimers {
  setTimeout(fn: () => unknown, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: SamplerTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Options of the centralized sampler. The defaults are the X-Ray SDKs' timings. */
export interface CentralizedSamplerOptions extends SamplingApiClientOptions {
  /** The daemon's TCP address (the sampling API). */
  endpoint: DaemonEndpoint;
  /** Decides while centralized rules cannot (not fetched yet, daemon unreachable, rules too old). @default the default local rules */
  fallback?: Sampler;
  /** Milliseconds between rule fetches. @default 300000 */
  rulesIntervalMs?: number;
  /** Up to this many milliseconds are added to each rules interval. @default 5000 */
  rulesJitterMs?: number;
  /** Milliseconds between target polls. @default 10000 */
  targetsIntervalMs?: number;
  /** Up to this many milliseconds are added to each targets interval. @default 100 */
  targetsJitterMs?: number;
  /** Milliseconds between retries while the daemon cannot be reached. @default 10000 */
  retryIntervalMs?: number;
  /** Rules last fetched longer ago than this are not used. @default 3600000 */
  rulesTtlMs?: number;
  /** Most pages of rules read in one fetch. @default 100 */
  maxPages?: number;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** A number in [0, 1). @default Math.random */
  random?: () => number;
  timers?: SamplerTimers;
}

/** What `stats()` reports. */
export interface CentralizedSamplerStats {
  readonly strategy: 'centralized';
  /** Who decides now: the daemon's rules, or the local rules. */
  readonly mode: 'centralized' | 'fallback';
  /** Why the local rules decide (in fallback). */
  readonly fallbackReason: string | undefined;
  readonly clientId: string;
  readonly endpoint: string;
  /** When the rules were last fetched, epoch milliseconds. */
  readonly rulesFetchedAt: number | undefined;
  readonly ruleFetches: number;
  readonly ruleFetchFailures: number;
  readonly targetPolls: number;
  readonly targetPollFailures: number;
  /** Switches to the local rules after centralized rules were used (or the first failure), and back. */
  readonly fallbacks: number;
  readonly recoveries: number;
  /** Rules of the daemon that cannot be used (other `Version`, bad fields), by name. */
  readonly skippedRules: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
  /** The rules in matching order, the default last, with their quota and the counts not yet reported. */
  readonly rules: readonly SamplingRuleState[];
}

/** At most this many statistics documents a `SamplingTargets` call (the API's limit). */
const STATISTICS_BATCH = 25;

/**
 * Samples by the rules of the X-Ray service, fetched through the daemon, as the X-Ray SDKs do:
 * rules every 5 minutes (plus up to 5 s), all pages; targets every 10 seconds (plus up to 100 ms)
 * with the statistics of every rule that matched; each rule's quota, TTL and interval from its
 * target; rules fetched again at once when `LastRuleModification` moves.
 *
 * The local rules (`fallback`) decide until the first rules arrive, while the daemon cannot be reached
 * or answers errors, and when the rules are older than an hour. Each switch is logged once and
 * counted in `stats()`. Pollers start at the first decision, run outside any trace on timers that
 * never keep the process alive, and stop at shutdown.
 */
export class CentralizedSampler implements Sampler {
  readonly clientId = randomBytes(12).toString('hex');
  private readonly client: SamplingApiClient;
  private readonly fallback: Sampler;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timers: SamplerTimers;
  private readonly rulesIntervalMs: number;
  private readonly rulesJitterMs: number;
  private readonly targetsIntervalMs: number;
  private readonly targetsJitterMs: number;
  private readonly retryIntervalMs: number;
  private readonly rulesTtlMs: number;
  private readonly maxPages: number;

  private rules: SamplingRule[] = [];
  private defaultRule: SamplingRule | undefined;
  /** Every rule by name (the default included), for targets that arrive after a refresh. */
  private byName = new Map<string, SamplingRule>();
  private skipped: Array<{ name: string; reason: string }> = [];
  /** When the fetch of the rules in use began (a rule changed during a fetch of several pages is newer). */
  private rulesFetchedAt: number | undefined;
  /** Rules are used until then (fetch time plus the TTL); 0 before the first fetch. */
  private rulesUsableUntil = 0;
  /** Whether the last `GetSamplingRules` succeeded. */
  private rulesOk = false;
  /** Whether the last `SamplingTargets` succeeded (true before the first). */
  private targetsOk = true;
  /** Whether the daemon's rules decide (cached; checked against `rulesUsableUntil` per decision). */
  private centralized = false;
  private lastProblem = 'the rules have not been fetched yet';
  /** Whether the last switch logged was to the local rules. */
  private toldFallback = false;

  private started = false;
  private stopped = false;
  /** Moves at every stop(): what a run started before it (a call under way, a timer) then does nothing. */
  private generation = 0;
  private rulesTimer: unknown;
  private targetsTimer: unknown;
  private fetchingRules: Promise<void> | undefined;
  private firstFetch: Promise<void> | undefined;
  private refetchAfter = false;
  private readonly counters = { ruleFetches: 0, ruleFetchFailures: 0, targetPolls: 0, targetPollFailures: 0, fallbacks: 0, recoveries: 0 };

  constructor(options: CentralizedSamplerOptions) {
    this.client = new SamplingApiClient(options.endpoint, options);
    this.fallback = options.fallback ?? new LocalSampler();
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? REAL_TIMERS;
    this.rulesIntervalMs = options.rulesIntervalMs ?? 300_000;
    this.rulesJitterMs = options.rulesJitterMs ?? 5_000;
    this.targetsIntervalMs = options.targetsIntervalMs ?? 10_000;
    this.targetsJitterMs = options.targetsJitterMs ?? 100;
    this.retryIntervalMs = options.retryIntervalMs ?? 10_000;
    this.rulesTtlMs = options.rulesTtlMs ?? 3_600_000;
    this.maxPages = options.maxPages ?? 100;
  }

  /** Called by the recorder when configured: the pollers begin at the first decision. */
  start(): void {
    this.stopped = false;
  }

  /**
   * Stops the pollers and aborts calls under way; decisions use the local rules afterwards. A later
   * `start()` begins again at the next decision (a recorder configured anew may keep its sampler); what
   * the earlier run had under way is ignored when it settles.
   */
  stop(): void {
    this.stopped = true;
    this.generation++;
    this.started = false;
    this.firstFetch = undefined;
    this.fetchingRules = undefined;
    this.refetchAfter = false;
    this.timers.clearTimeout(this.rulesTimer);
    this.timers.clearTimeout(this.targetsTimer);
    this.rulesTimer = this.targetsTimer = undefined;
    this.client.abort();
    this.centralized = false;
  }

  shouldTrace(request: SamplingRequest = {}): boolean | string {
    if (!this.started) this.begin();
    if (this.centralized) {
      const now = this.now();
      if (now <= this.rulesUsableUntil) {
        const rule = this.match(request);
        if (rule !== undefined) return rule.decide(now, this.random) === 'none' ? false : rule.name;
      } else {
        // Too old (a suspended machine, a clock step): the local rules, and fetch them now.
        this.updateMode();
        if (this.fetchingRules === undefined) withoutTracing(() => void this.refreshRules());
      }
    }
    return this.fallback.shouldTrace(request);
  }

  /** Fetches the rules now (all pages). Resolves when done; never rejects. */
  refreshRules(): Promise<void> {
    if (this.fetchingRules !== undefined) {
      this.refetchAfter = true;
      return this.fetchingRules;
    }
    this.timers.clearTimeout(this.rulesTimer);
    this.rulesTimer = undefined;
    const generation = this.generation;
    const run = this.fetchRules(generation).finally(() => {
      if (generation !== this.generation) return;
      this.fetchingRules = undefined;
      if (this.stopped) return;
      if (this.refetchAfter) {
        this.refetchAfter = false;
        void this.refreshRules();
      } else if (this.rulesOk && (this.rules.length > 0 || this.defaultRule !== undefined)) {
        this.scheduleRules(this.rulesIntervalMs + this.random() * this.rulesJitterMs);
      } else this.scheduleRules(this.retryDelay()); // failed, or no usable rule: try again soon
    });
    this.fetchingRules = run;
    return run;
  }

  /**
   * Reports the statistics of the rules that are due and applies the targets. After a failed call it
   * asks again at every poll, with a document of no requests when no rule is due, so that it notices
   * when the API answers again (a rule only reports while the daemon's rules decide). Never rejects.
   */
  async pollTargets(): Promise<void> {
    const generation = this.generation;
    const now = this.now();
    // Timers run on the event loop's cached clock, so a poll can fire a few milliseconds before
    // `Date.now()` reaches the rule's report time; within half a poll interval it is due now, else it
    // would wait a whole extra interval.
    const reportBy = now + this.targetsIntervalMs / 2;
    const all = this.allRules();
    const due = all.filter((r) => r.dueForReport(reportBy));
    const probe = due.length === 0 && !this.targetsOk && this.rulesOk && all.length > 0;
    if (due.length === 0 && !probe) return;
    let refresh = false;
    const batches = probe ? 1 : Math.ceil(due.length / STATISTICS_BATCH);
    for (let b = 0; b < batches; b++) {
      if (this.stopped || generation !== this.generation) return;
      const batch = due.slice(b * STATISTICS_BATCH, (b + 1) * STATISTICS_BATCH);
      // The probe reports nothing for the last rule (the default one when there is one).
      const statistics: RuleStatistics[] = probe
        ? [{ ruleName: all[all.length - 1].name, requestCount: 0, sampledCount: 0, borrowCount: 0 }]
        : batch.map((r) => r.takeStatistics(now));
      this.counters.targetPolls++;
      try {
        const answer = await this.client.getSamplingTargets(this.clientId, Math.floor(now / 1000), statistics);
        if (generation !== this.generation) return;
        const applyAt = this.now();
        // By name in the rules now in use: a refresh during the call replaced the rule objects.
        for (const [name, target] of answer.targets) this.byName.get(name)?.applyTarget(target, applyAt);
        for (const u of answer.unprocessed) {
          if (u.errorCode.startsWith('4')) refresh = true;
          if (u.errorCode.startsWith('5')) restore(this.byName, statistics, u.ruleName);
          diag.warn('sampling_statistics_unprocessed', `The X-Ray service did not take the statistics of sampling rule "${u.ruleName}" (${u.errorCode}: ${u.message}).`, u.ruleName);
        }
        if (answer.lastRuleModificationMs !== undefined && this.rulesFetchedAt !== undefined && answer.lastRuleModificationMs > this.rulesFetchedAt) refresh = true;
        this.targetsOk = true;
        this.updateMode();
      } catch (e) {
        if (generation !== this.generation) return;
        this.counters.targetPollFailures++;
        for (const stats of statistics) this.byName.get(stats.ruleName)?.restoreStatistics(stats);
        this.targetsOk = false;
        this.failed(e);
        return;
      }
    }
    if (refresh) await this.refreshRules();
  }

  stats(): CentralizedSamplerStats {
    const all = this.allRules();
    return {
      strategy: 'centralized',
      mode: this.centralized ? 'centralized' : 'fallback',
      fallbackReason: this.centralized ? undefined : this.lastProblem,
      clientId: this.clientId,
      endpoint: this.client.address,
      rulesFetchedAt: this.rulesFetchedAt,
      ...this.counters,
      skippedRules: this.skipped.slice(),
      rules: all.map((r) => r.state()),
    };
  }

  // ---------------------------------------------------------------- internals

  /** The rules in matching order, the default last. */
  private allRules(): SamplingRule[] {
    return this.defaultRule ? [...this.rules, this.defaultRule] : this.rules.slice();
  }

  private begin(): void {
    if (this.stopped) return;
    this.started = true;
    // The first decision may come inside a request: the pollers' timers and calls must not keep its
    // trace (they would run in it for the life of the process).
    withoutTracing(() => {
      this.firstFetch = this.refreshRules();
      this.scheduleTargets();
    });
  }

  /** Resolves when the first fetch of rules, started by the first decision, is done (tests, start-up). */
  whenStarted(): Promise<void> {
    return this.firstFetch ?? Promise.resolve();
  }

  private match(request: SamplingRequest): SamplingRule | undefined {
    const rules = this.rules;
    if (rules.length > 0) {
      const lowered = lowerRequest(request);
      for (let i = 0; i < rules.length; i++) if (rules[i].matches(request, lowered)) return rules[i];
    }
    return this.defaultRule;
  }

  /** The wait before another try after a failure: the retry interval plus up to a tenth of it, so that a fleet does not retry in step. */
  private retryDelay(): number {
    return this.retryIntervalMs * (1 + this.random() / 10);
  }

  private scheduleRules(ms: number): void {
    if (this.stopped) return;
    this.timers.clearTimeout(this.rulesTimer);
    this.rulesTimer = this.timers.setTimeout(() => {
      this.rulesTimer = undefined;
      return this.refreshRules();
    }, ms);
  }

  private scheduleTargets(): void {
    if (this.stopped) return;
    const generation = this.generation;
    this.targetsTimer = this.timers.setTimeout(() => {
      this.targetsTimer = undefined;
      return this.pollTargets().finally(() => {
        if (generation === this.generation) this.scheduleTargets();
      });
    }, this.targetsIntervalMs + this.random() * this.targetsJitterMs);
  }

  private async fetchRules(generation: number): Promise<void> {
    this.counters.ruleFetches++;
    const startedAt = this.now();
    const definitions: SamplingRuleDefinition[] = [];
    const skipped: Array<{ name: string; reason: string }> = [];
    try {
      let token: string | undefined;
      const seen = new Set<string>();
      let pages = 0;
      do {
        if (this.stopped || generation !== this.generation) return;
        if (++pages > this.maxPages) throw new Error(`more than ${this.maxPages} pages of rules`);
        const page = await this.client.getSamplingRules(token);
        definitions.push(...page.rules);
        skipped.push(...page.skipped);
        token = page.nextToken;
        if (token !== undefined) {
          if (seen.has(token)) throw new Error('GetSamplingRules answered the same NextToken twice');
          seen.add(token);
        }
      } while (token !== undefined);
    } catch (e) {
      if (this.stopped || generation !== this.generation) return;
      this.counters.ruleFetchFailures++;
      this.rulesOk = false;
      this.failed(e);
      return;
    }
    if (this.stopped || generation !== this.generation) return;
    this.load(definitions, skipped, startedAt);
    this.rulesOk = true;
    this.updateMode();
  }

  /** Replaces the rules; rules of the same name keep their quota and counts. */
  private load(definitions: SamplingRuleDefinition[], skipped: Array<{ name: string; reason: string }>, fetchedAt: number): void {
    const previous = this.byName;
    const byName = new Map<string, SamplingRule>();
    for (const d of definitions) {
      if (byName.has(d.ruleName)) continue; // names are unique in an account; the first one wins
      const rule = new SamplingRule(d);
      const old = previous.get(d.ruleName);
      if (old !== undefined) rule.inherit(old);
      byName.set(d.ruleName, rule);
    }
    const def = byName.get(DEFAULT_RULE_NAME);
    this.rules = [...byName.values()]
      .filter((r) => r !== def)
      .sort((a, b) => a.definition.priority - b.definition.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.defaultRule = def;
    this.byName = byName;
    this.skipped = skipped;
    for (const s of skipped) {
      diag.warn('sampling_rule_skipped', `Sampling rule "${s.name}" is not used: ${s.reason}.`, s.name);
    }
    this.rulesFetchedAt = fetchedAt;
    this.rulesUsableUntil = fetchedAt + this.rulesTtlMs;
  }

  private failed(e: unknown): void {
    this.lastProblem = `the sampling API at ${this.client.address} failed: ${e instanceof Error ? e.message : describeValue(e)}`;
    this.updateMode();
  }

  /** Recomputes who decides and logs a switch (to the local rules, and back). */
  private updateMode(): void {
    const loaded = this.rulesFetchedAt !== undefined;
    const fresh = loaded && this.now() <= this.rulesUsableUntil;
    const healthy = this.rulesOk && this.targetsOk;
    if (healthy && loaded && !fresh) {
      this.lastProblem = `the sampling rules were last fetched more than ${Math.round(this.rulesTtlMs / 60000)} minutes ago`;
    } else if (healthy && fresh && this.rules.length === 0 && this.defaultRule === undefined) {
      this.lastProblem = 'the daemon answered no usable sampling rule';
    }
    const next = !this.stopped && healthy && fresh && (this.rules.length > 0 || this.defaultRule !== undefined);
    const was = this.centralized;
    this.centralized = next;
    if (next && !was) {
      if (this.toldFallback) {
        this.counters.recoveries++;
        say(`xrayjs: centralized sampling is back: the rules of the daemon at ${this.client.address} decide again.`);
      }
      this.toldFallback = false;
    } else if (!next && !this.stopped && !this.toldFallback && (was || loaded || !healthy)) {
      this.counters.fallbacks++;
      this.toldFallback = true;
      say(`xrayjs: centralized sampling is unavailable (${this.lastProblem}); the local sampling rules decide until it answers.`);
    }
  }
}

/** Puts back the counts of a rule whose report failed, into the rule of that name now in use. */
function restore(byName: ReadonlyMap<string, SamplingRule>, statistics: readonly RuleStatistics[], name: string): void {
  const stats = statistics.find((s) => s.ruleName === name);
  if (stats !== undefined) byName.get(name)?.restoreStatistics(stats);
}

/** Logs a switch of the sampler (each one once; a switch happens at most once per poll). */
function say(message: string): void {
  diag.count('sampling_switch');
  try {
    // Outside any trace: a logger that ships over HTTP must not land in a request's segment.
    withoutTracing(() => diag.logger.warn(message));
  } catch {
    // a logger that throws must not break the poller
  }
}
