import { readFileSync } from 'node:fs';

import { InvalidSamplingManifestError } from '../errors.js';
import { wildcardMatch } from '../wildcard.js';
import type { Sampler, SamplingRequest } from './sampler.js';

/** A local sampling rule after loading; version 1's `service_name` becomes `host`. */
export interface LocalSamplingRule {
  readonly description?: string;
  readonly host: string;
  readonly http_method: string;
  readonly url_path: string;
  readonly fixed_target: number;
  readonly rate: number;
}

/** A loaded local rules document. */
export interface LocalSamplingRules {
  readonly version: 1 | 2;
  readonly rules: readonly LocalSamplingRule[];
  readonly default: { readonly fixed_target: number; readonly rate: number };
}

/** The SDKs' default: the first request each second, then 5 % of the rest. */
export const DEFAULT_SAMPLING_RULES: LocalSamplingRules = Object.freeze({
  version: 2,
  rules: [],
  default: { fixed_target: 1, rate: 0.05 },
});

const RULE_KEYS: Record<1 | 2, readonly string[]> = {
  1: ['service_name', 'http_method', 'url_path', 'fixed_target', 'rate', 'description', 'id'],
  2: ['host', 'http_method', 'url_path', 'fixed_target', 'rate', 'description', 'id'],
};

function fail(message: string): never {
  throw new InvalidSamplingManifestError(message);
}

function checkTargetAndRate(where: string, obj: Record<string, unknown>): void {
  const target = obj.fixed_target;
  const rate = obj.rate;
  if (typeof target !== 'number' || !Number.isInteger(target) || target < 0) {
    fail(`${where} attribute "fixed_target" has invalid value: ${JSON.stringify(target)}. It must be a whole number >= 0.`);
  }
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    fail(`${where} attribute "rate" has invalid value: ${JSON.stringify(rate)}. It must be a number from 0 to 1.`);
  }
}

/**
 * Checks and loads a local sampling rules document of version 1 or 2 (the format of the X-Ray SDKs'
 * `sampling_rules.json`). Throws {@link InvalidSamplingManifestError} with the problem; the messages
 * follow the Node SDK's.
 */
export function parseSamplingRules(document: unknown): LocalSamplingRules {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    fail('The sampling rules document must be a JSON object.');
  }
  const doc = document as Record<string, unknown>;
  if (doc.version === undefined) fail('Missing "version" attribute.');
  if (doc.version !== 1 && doc.version !== 2) fail(`Unknown version ${JSON.stringify(doc.version)}.`);
  const version = doc.version;
  const def = doc.default;
  if (typeof def !== 'object' || def === null || Array.isArray(def)) {
    fail('Expecting "default" object to be defined with attributes "fixed_target" and "rate".');
  }
  const defObj = def as Record<string, unknown>;
  const extra = Object.keys(defObj).filter((k) => k !== 'fixed_target' && k !== 'rate');
  if (extra.length > 0) {
    fail(`Invalid attribute for default: ${extra.join(',')}. Valid attributes for default are "fixed_target" and "rate".`);
  }
  const missingDefault = ['fixed_target', 'rate'].filter((k) => !(k in defObj));
  if (missingDefault.length > 0) fail(`Missing required attributes for default: ${missingDefault.join(',')}.`);
  checkTargetAndRate('Default rule', defObj);

  const rulesIn = doc.rules ?? [];
  if (!Array.isArray(rulesIn)) fail('"rules" must be an array.');
  const hostKey = version === 1 ? 'service_name' : 'host';
  const rules: LocalSamplingRule[] = rulesIn.map((raw: unknown, i: number) => {
    const where = `Rule ${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${where} must be an object.`);
    const rule = raw as Record<string, unknown>;
    const invalid = Object.keys(rule).filter((k) => !RULE_KEYS[version].includes(k));
    if (invalid.length > 0) {
      const hint = invalid.includes('host') || invalid.includes('service_name')
        ? ` Version ${version} rules use "${hostKey}".`
        : '';
      fail(`${where} has invalid attribute: ${invalid.join(',')}.${hint}`);
    }
    const missing = [hostKey, 'http_method', 'url_path', 'fixed_target', 'rate'].filter((k) => !(k in rule));
    if (missing.length > 0) fail(`${where} is missing required attributes: ${missing.join(',')}.`);
    for (const key of [hostKey, 'http_method', 'url_path']) {
      if (typeof rule[key] !== 'string') fail(`${where} attribute "${key}" has invalid value: ${JSON.stringify(rule[key])}.`);
    }
    checkTargetAndRate(where, rule);
    return {
      ...(typeof rule.description === 'string' ? { description: rule.description } : {}),
      host: rule[hostKey] as string,
      http_method: rule.http_method as string,
      url_path: rule.url_path as string,
      fixed_target: rule.fixed_target as number,
      rate: rule.rate as number,
    };
  });
  return { version, rules, default: { fixed_target: defObj.fixed_target as number, rate: defObj.rate as number } };
}

/** Reads and loads a rules file (UTF-8, a byte-order mark is allowed). */
export function loadSamplingRulesFile(path: string): LocalSamplingRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`cannot read sampling rules file "${path}": ${(e as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`sampling rules file "${path}" is not valid JSON: ${(e as Error).message}`);
  }
  return parseSamplingRules(doc);
}

/**
 * A per-second reservoir: up to `fixedTarget` decisions per wall-clock second. JavaScript runs one
 * decision at a time, so the count is exact however many requests arrive together.
 * @internal
 */
class Reservoir {
  private second = -1;
  private taken = 0;

  constructor(private readonly fixedTarget: number) {}

  take(nowMs: number): boolean {
    if (this.fixedTarget === 0) return false;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.taken = 0;
    }
    if (this.taken >= this.fixedTarget) return false;
    this.taken++;
    return true;
  }
}

interface CompiledRule {
  readonly rule: LocalSamplingRule | undefined;
  readonly rate: number;
  readonly reservoir: Reservoir;
  /** The rule's patterns, lower-cased once (matching is case-insensitive). */
  readonly host?: string;
  readonly method?: string;
  readonly path?: string;
}

/** Options of the local sampler (a clock and a random source for tests). */
export interface LocalSamplerOptions {
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** A number in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Samples by local rules: the first rule (in file order) whose host, method and path patterns match
 * the request decides, else the default rule. A rule samples up to `fixed_target` requests per second,
 * then a `rate` share of the rest.
 */
export class LocalSampler implements Sampler {
  private readonly compiled: CompiledRule[];
  private readonly fallback: CompiledRule;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(rules: LocalSamplingRules = DEFAULT_SAMPLING_RULES, options: LocalSamplerOptions = {}) {
    this.compiled = rules.rules.map((rule) => ({
      rule,
      rate: rule.rate,
      reservoir: new Reservoir(rule.fixed_target),
      host: rule.host?.toLowerCase(),
      method: rule.http_method?.toLowerCase(),
      path: rule.url_path?.toLowerCase(),
    }));
    this.fallback = { rule: undefined, rate: rules.default.rate, reservoir: new Reservoir(rules.default.fixed_target) };
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  shouldTrace(request: SamplingRequest = {}): boolean {
    const matched = this.match(request);
    if (matched.reservoir.take(this.now())) return true;
    return matched.rate > 0 && this.random() < matched.rate;
  }

  stats(): { strategy: 'local'; rules: number } {
    return { strategy: 'local', rules: this.compiled.length };
  }

  /** The rule that applies to a request (`undefined` for the default rule). */
  matchingRule(request: SamplingRequest): LocalSamplingRule | undefined {
    return this.match(request).rule;
  }

  private match(request: SamplingRequest): CompiledRule {
    if (this.compiled.length === 0) return this.fallback;
    // Case-insensitive: the request's fields are lower-cased once, the rules' when compiled.
    const host = request.host?.toLowerCase();
    const method = request.method?.toLowerCase();
    const path = request.path?.toLowerCase();
    for (const c of this.compiled) {
      if (
        (!host || wildcardMatch(c.host, host, false)) &&
        (!method || wildcardMatch(c.method, method, false)) &&
        (!path || wildcardMatch(c.path, path, false))
      ) {
        return c;
      }
    }
    return this.fallback;
  }
}
