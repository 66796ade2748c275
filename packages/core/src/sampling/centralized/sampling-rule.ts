import { wildcardMatch } from '../../wildcard.js';
import type { SamplingRequest } from '../sampler.js';

/** The name the X-Ray service gives its catch-all rule; it is matched after every other rule. */
export const DEFAULT_RULE_NAME = 'Default';

/** A rule of `GetSamplingRules` after checking (`SamplingRule` of the X-Ray API). */
export interface SamplingRuleDefinition {
  readonly ruleName: string;
  readonly priority: number;
  readonly fixedRate: number;
  readonly reservoirSize: number;
  readonly serviceName: string;
  readonly serviceType: string;
  readonly host: string;
  readonly httpMethod: string;
  readonly urlPath: string;
  readonly resourceArn: string;
  /** Attribute patterns (at most 5 in the API); every one must match. */
  readonly attributes: ReadonlyArray<readonly [key: string, pattern: string]>;
}

/** What `SamplingTargets` assigns a rule. */
export interface SamplingTarget {
  readonly fixedRate: number;
  /** Requests a second this client may take; `undefined` keeps the current quota. */
  readonly reservoirQuota?: number;
  /** When the quota ends, epoch milliseconds; `undefined` keeps the current one. */
  readonly reservoirQuotaTtlMs?: number;
  /** Seconds between reports of this rule; `undefined` keeps the current one. */
  readonly intervalSeconds?: number;
}

/** One statistics document of `SamplingTargets` (without the client id). */
export interface RuleStatistics {
  readonly ruleName: string;
  readonly requestCount: number;
  readonly sampledCount: number;
  readonly borrowCount: number;
}

/** A rule as `stats()` shows it. */
export interface SamplingRuleState extends RuleStatistics {
  readonly priority: number;
  readonly fixedRate: number;
  readonly reservoirSize: number;
  readonly reservoirQuota: number | undefined;
  /** When the quota ends, epoch milliseconds. */
  readonly reservoirQuotaTtlMs: number | undefined;
  readonly intervalSeconds: number;
}

/** The outcome of one decision: sampled from the quota, borrowed, by the fixed rate, or not. */
export type RuleDecision = 'take' | 'borrow' | 'rate' | 'none';

const lower = (s: string): string => s.toLowerCase();

/**
 * A centralized rule with its reservoir and statistics. Matching is X-Ray's wildcard match,
 * case-insensitive; a request field the caller does not know (no Host header, no plugin origin) is
 * an implicit match, as in the Python SDK; `ResourceARN` and `Attributes` other than `*` need the
 * request to have them.
 *
 * The reservoir counts per wall-clock second. Node decides one request at a time, so the quota is
 * exact however many requests arrive together.
 * @internal
 */
export class SamplingRule {
  readonly definition: SamplingRuleDefinition;
  /** True when every pattern is `*` and there are no attributes: no string is looked at. */
  private readonly matchesAll: boolean;
  private readonly patterns: { service: string; serviceType: string; host: string; method: string; path: string; arn: string };
  private readonly attributePatterns: ReadonlyArray<readonly [key: string, lowerKey: string, pattern: string]>;

  private fixedRate: number;
  private quota: number | undefined;
  private quotaTtlMs: number | undefined;
  private interval = 10;
  private nextReportMs = 0;

  private second = -1;
  private taken = 0;
  private borrowed = 0;

  private requests = 0;
  private sampled = 0;
  private borrows = 0;

  constructor(definition: SamplingRuleDefinition) {
    this.definition = definition;
    this.fixedRate = definition.fixedRate;
    this.patterns = {
      service: lower(definition.serviceName),
      serviceType: lower(definition.serviceType),
      host: lower(definition.host),
      method: lower(definition.httpMethod),
      path: lower(definition.urlPath),
      arn: definition.resourceArn,
    };
    this.attributePatterns = definition.attributes.map(([k, v]) => [k, lower(k), v] as const);
    const p = this.patterns;
    this.matchesAll =
      p.service === '*' && p.serviceType === '*' && p.host === '*' && p.method === '*' && p.path === '*' && p.arn === '*' &&
      this.attributePatterns.length === 0;
  }

  get name(): string {
    return this.definition.ruleName;
  }

  /** Takes over the reservoir state and statistics of the rule of the same name before a refresh. */
  inherit(previous: SamplingRule): void {
    this.quota = previous.quota;
    this.quotaTtlMs = previous.quotaTtlMs;
    this.interval = previous.interval;
    this.nextReportMs = previous.nextReportMs;
    this.second = previous.second;
    this.taken = previous.taken;
    this.borrowed = previous.borrowed;
    this.requests = previous.requests;
    this.sampled = previous.sampled;
    this.borrows = previous.borrows;
  }

  /**
   * Whether the rule applies. `lowered` holds the request's host, method, path and service lower-cased
   * once per decision (not once per rule).
   */
  matches(request: SamplingRequest, lowered: LoweredRequest): boolean {
    if (this.matchesAll) return true;
    const p = this.patterns;
    if (!implicit(p.service, lowered.service)) return false;
    if (!implicit(p.serviceType, lowered.serviceType)) return false;
    if (!implicit(p.host, lowered.host)) return false;
    if (!implicit(p.method, lowered.method)) return false;
    if (!implicit(p.path, lowered.path)) return false;
    if (p.arn !== '*' && !wildcardMatch(p.arn, request.resourceArn)) return false;
    for (const [key, lowerKey, pattern] of this.attributePatterns) {
      if (!wildcardMatch(pattern, attributeOf(request, key, lowerKey))) return false;
    }
    return true;
  }

  /** Decides one matched request and counts it. */
  decide(nowMs: number, random: () => number): RuleDecision {
    this.requests++;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.taken = 0;
      this.borrowed = 0;
    }
    const quota = this.quota;
    if (quota !== undefined && this.quotaTtlMs !== undefined && nowMs < this.quotaTtlMs) {
      if (this.taken < quota) {
        this.taken++;
        this.sampled++;
        return 'take';
      }
    } else if (this.definition.reservoirSize > 0 && this.borrowed < 1) {
      // No quota yet, or it expired: one request a second, until the service assigns one.
      this.borrowed++;
      this.borrows++;
      return 'borrow';
    }
    if (this.fixedRate > 0 && random() < this.fixedRate) {
      this.sampled++;
      return 'rate';
    }
    return 'none';
  }

  /** Applies a target from `SamplingTargets`. */
  applyTarget(target: SamplingTarget, nowMs: number): void {
    this.fixedRate = target.fixedRate;
    if (target.reservoirQuota !== undefined) this.quota = target.reservoirQuota;
    if (target.reservoirQuotaTtlMs !== undefined) this.quotaTtlMs = target.reservoirQuotaTtlMs;
    if (target.intervalSeconds !== undefined) {
      this.interval = target.intervalSeconds;
      this.nextReportMs = nowMs + target.intervalSeconds * 1000;
    }
  }

  /**
   * Whether the rule is to report at `nowMs`: it matched requests since its last report, and its
   * interval passed. A rule without requests does not report (as the Go, Java and Python SDKs), so an
   * idle instance stops counting among the clients the service splits the reservoir between.
   */
  dueForReport(nowMs: number): boolean {
    return this.requests > 0 && nowMs >= this.nextReportMs;
  }

  /** The counters since the last report; resets them. */
  takeStatistics(nowMs: number): RuleStatistics {
    const stats = { ruleName: this.name, requestCount: this.requests, sampledCount: this.sampled, borrowCount: this.borrows };
    this.requests = this.sampled = this.borrows = 0;
    this.nextReportMs = nowMs + this.interval * 1000;
    return stats;
  }

  /** Puts back counters whose report failed, so that the next report carries them. */
  restoreStatistics(stats: RuleStatistics): void {
    this.requests += stats.requestCount;
    this.sampled += stats.sampledCount;
    this.borrows += stats.borrowCount;
  }

  state(): SamplingRuleState {
    return {
      ruleName: this.name,
      priority: this.definition.priority,
      fixedRate: this.fixedRate,
      reservoirSize: this.definition.reservoirSize,
      reservoirQuota: this.quota,
      reservoirQuotaTtlMs: this.quotaTtlMs,
      intervalSeconds: this.interval,
      requestCount: this.requests,
      sampledCount: this.sampled,
      borrowCount: this.borrows,
    };
  }
}

/** The request's fields lower-cased once per decision. @internal */
export interface LoweredRequest {
  service: string | undefined;
  serviceType: string | undefined;
  host: string | undefined;
  method: string | undefined;
  path: string | undefined;
}

/** Lower-cases the fields rules match; empty values count as unknown. */
export function lowerRequest(request: SamplingRequest): LoweredRequest {
  return {
    service: request.service ? request.service.toLowerCase() : undefined,
    serviceType: request.serviceType ? request.serviceType.toLowerCase() : undefined,
    host: request.host ? request.host.toLowerCase() : undefined,
    method: request.method ? request.method.toLowerCase() : undefined,
    path: request.path ? request.path.toLowerCase() : undefined,
  };
}

/** A pattern against a field that may be unknown (unknown matches, as in the Python SDK). */
function implicit(pattern: string, text: string | undefined): boolean {
  return pattern === '*' || text === undefined || wildcardMatch(pattern, text, false);
}

/**
 * The value of attribute `key` of a request: an attribute the caller gave (same spelling), else the
 * well-known `http.method`, `http.url` and `http.target` (the path), `http.host`, else the request
 * header of that name (case-insensitive).
 */
function attributeOf(request: SamplingRequest, key: string, lowerKey: string): string | undefined {
  const given = request.attributes?.[key];
  if (typeof given === 'string') return given;
  if (lowerKey === 'http.method') return request.method;
  if (lowerKey === 'http.url' || lowerKey === 'http.target') return request.path;
  if (lowerKey === 'http.host') return request.host;
  const header = request.headers?.[lowerKey];
  if (typeof header === 'string') return header;
  if (Array.isArray(header) && typeof header[0] === 'string') return header[0];
  return undefined;
}
