import { readFileSync, statSync } from 'node:fs';

import { timestampMs } from '@xrayjs/core';

/** The default rule of the X-Ray service: the first request each second, then 5 %. */
export interface DefaultRule {
  /** @default 0.05 */
  fixedRate: number;
  /** @default 1 */
  reservoirSize: number;
}

/** A sampling rule as the X-Ray API writes it (`SamplingRule`), with its record's times when the file gave them. */
export interface SamplingRuleJson {
  /** Adaptive sampling, served as the file gives it (this daemon assigns no boost). */
  SamplingRateBoost?: { MaxRate: number; CooldownWindowMinutes?: number };
  /** Of the rule's `SamplingRuleRecord` in the file, epoch seconds (not sent inside `SamplingRule`). */
  CreatedAt?: number;
  ModifiedAt?: number;
  RuleName: string;
  RuleARN: string;
  ResourceARN: string;
  Priority: number;
  FixedRate: number;
  ReservoirSize: number;
  ServiceName: string;
  ServiceType: string;
  Host: string;
  HTTPMethod: string;
  URLPath: string;
  Version: number;
  Attributes: Record<string, string>;
}

/** One client's share of a rule, as the viewer shows it. */
export interface ClientShare {
  clientId: string;
  /** Epoch seconds of its last report. */
  lastReport: number;
  /** The quota it was given at its last report. */
  quota: number;
  requests: number;
  sampled: number;
  borrowed: number;
}

/** A rule with what its clients reported, for the viewer. */
export interface RuleReport {
  rule: SamplingRuleJson;
  requests: number;
  sampled: number;
  borrowed: number;
  /** Clients that reported within the last two intervals: the reservoir is split between them. */
  clients: ClientShare[];
}

/** Options of the sampling API. */
export interface SamplingApiOptions {
  /** A rules file (see {@link parseRulesFile}); re-read when it changes. */
  rulesFile?: string;
  /** The default rule when no file is given (or the file has none). */
  defaultRule?: Partial<DefaultRule>;
  /** Rules per page of `GetSamplingRules`. @default 100 */
  pageSize?: number;
  /** Seconds between reports asked of clients (`Interval`). @default 10 */
  intervalSeconds?: number;
  /** Seconds a quota holds (`ReservoirQuotaTTL` is now plus this). @default 60 */
  quotaTtlSeconds?: number;
  /** Epoch milliseconds. @default Date.now */
  now?: () => number;
}

type Json = Record<string, unknown>;

class InvalidRequest extends Error {}

/** A rules file that cannot be used; the message says what to fix. */
export class InvalidRulesFileError extends Error {}

const PATTERNS = ['ServiceName', 'ServiceType', 'Host', 'HTTPMethod', 'URLPath', 'ResourceARN'] as const;
const PATTERN_LIMITS: Record<(typeof PATTERNS)[number], number> = { ServiceName: 64, ServiceType: 64, Host: 64, HTTPMethod: 10, URLPath: 128, ResourceARN: 500 };
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A timestamp of the API (epoch seconds, or an ISO string as some tools write) in epoch seconds, never before 1970. */
function epochSeconds(v: unknown): number | undefined {
  const ms = timestampMs(v);
  return ms !== undefined && ms >= 0 ? ms / 1000 : undefined;
}

function validBoost(v: unknown): v is { MaxRate: number; CooldownWindowMinutes?: number } {
  if (!isObject(v) || typeof v.MaxRate !== 'number' || !(v.MaxRate >= 0 && v.MaxRate <= 1)) return false;
  const c = v.CooldownWindowMinutes;
  return c === undefined || (typeof c === 'number' && Number.isInteger(c) && c >= 0);
}

/** Most clients kept per rule (the longest silent are forgotten first): a bound against junk client ids. */
const MAX_CLIENTS_PER_RULE = 1000;
/** The largest count a statistics document may carry (the API's Integer). */
const MAX_COUNT = 2 ** 31 - 1;
/** Rule lists kept for the `NextToken`s handed out before the rules changed. */
const KEPT_VERSIONS = 8;

function defaultRuleJson(rule: DefaultRule): SamplingRuleJson {
  return {
    RuleName: 'Default',
    RuleARN: 'arn:aws:xray:local:000000000000:sampling-rule/Default',
    ResourceARN: '*',
    Priority: 10000,
    FixedRate: rule.fixedRate,
    ReservoirSize: rule.reservoirSize,
    ServiceName: '*',
    ServiceType: '*',
    Host: '*',
    HTTPMethod: '*',
    URLPath: '*',
    Version: 1,
    Attributes: {},
  };
}

/**
 * Checks a rules document: the output of `aws xray get-sampling-rules` (`{"SamplingRuleRecords":
 * [{"SamplingRule": {...}}]}`), `{"SamplingRules": [...]}`, or an array of rules or records. Each
 * rule has the fields of the X-Ray API (`RuleName`, `Priority`, `FixedRate`, `ReservoirSize`,
 * `ServiceName`, `ServiceType`, `Host`, `HTTPMethod`, `URLPath`, `ResourceARN`, `Version`, optional
 * `Attributes`, `RuleARN`); a `Default` rule is added when the document has none. Rules of another
 * `Version` are kept (SDKs skip them, as the service's do).
 */
export function parseRulesDocument(doc: unknown, defaultRule: DefaultRule = { fixedRate: 0.05, reservoirSize: 1 }): SamplingRuleJson[] {
  let list: unknown;
  if (Array.isArray(doc)) list = doc;
  else if (isObject(doc) && Array.isArray(doc.SamplingRuleRecords)) list = doc.SamplingRuleRecords;
  else if (isObject(doc) && Array.isArray(doc.SamplingRules)) list = doc.SamplingRules;
  else throw new InvalidRulesFileError('expected the output of "aws xray get-sampling-rules" ({"SamplingRuleRecords": [...]}), {"SamplingRules": [...]} or an array of rules');
  const rules: SamplingRuleJson[] = [];
  const names = new Set<string>();
  (list as unknown[]).forEach((item, i) => {
    const raw = isObject(item) && isObject(item.SamplingRule) ? item.SamplingRule : item;
    const where = `rule ${i + 1}`;
    if (!isObject(raw)) throw new InvalidRulesFileError(`${where} is not an object`);
    const name = raw.RuleName;
    if (typeof name !== 'string' || name.length < 1 || name.length > 32) {
      throw new InvalidRulesFileError(`${where}: RuleName must be a string of 1 to 32 characters (got ${JSON.stringify(name)})`);
    }
    const at = `rule "${name}"`;
    if (names.has(name)) throw new InvalidRulesFileError(`${at} is defined twice`);
    names.add(name);
    const priority = raw.Priority ?? (name === 'Default' ? 10000 : undefined);
    if (name === 'Default' && priority !== 10000) {
      throw new InvalidRulesFileError(`${at}: the Default rule's Priority is 10000, as in the X-Ray service (it is matched after every other rule; got ${JSON.stringify(raw.Priority)})`);
    }
    if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 1 || (priority > 9999 && name !== 'Default')) {
      throw new InvalidRulesFileError(`${at}: Priority must be a whole number from 1 to 9999 (got ${JSON.stringify(raw.Priority)})`);
    }
    if (typeof raw.FixedRate !== 'number' || !(raw.FixedRate >= 0 && raw.FixedRate <= 1)) {
      throw new InvalidRulesFileError(`${at}: FixedRate must be a number from 0 to 1 (got ${JSON.stringify(raw.FixedRate)})`);
    }
    if (typeof raw.ReservoirSize !== 'number' || !Number.isInteger(raw.ReservoirSize) || raw.ReservoirSize < 0) {
      throw new InvalidRulesFileError(`${at}: ReservoirSize must be a whole number >= 0 (got ${JSON.stringify(raw.ReservoirSize)})`);
    }
    const patterns = {} as Record<(typeof PATTERNS)[number], string>;
    for (const field of PATTERNS) {
      const v = raw[field] ?? '*';
      // The API allows an empty pattern (it matches only an empty value).
      if (typeof v !== 'string' || v.length > PATTERN_LIMITS[field]) {
        throw new InvalidRulesFileError(`${at}: ${field} must be a pattern of at most ${PATTERN_LIMITS[field]} characters (got ${JSON.stringify(raw[field])})`);
      }
      patterns[field] = v;
    }
    const version = raw.Version ?? 1;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new InvalidRulesFileError(`${at}: Version must be a whole number >= 1 (got ${JSON.stringify(raw.Version)})`);
    }
    const attributes = raw.Attributes ?? {};
    if (!isObject(attributes) || Object.entries(attributes).some(([k, v]) => typeof v !== 'string' || k.length < 1 || k.length > 32 || v.length < 1 || v.length > 32) || Object.keys(attributes).length > 5) {
      throw new InvalidRulesFileError(`${at}: Attributes must be an object of at most 5 strings, keys and values 1 to 32 characters`);
    }
    const boost = raw.SamplingRateBoost;
    const boostOk = validBoost(boost);
    if (boost !== undefined && boost !== null && !boostOk) {
      throw new InvalidRulesFileError(`${at}: SamplingRateBoost must be {"MaxRate": 0 to 1, "CooldownWindowMinutes": a whole number >= 0}`);
    }
    const record = raw === item ? undefined : (item as Json);
    const createdAt = epochSeconds(record?.CreatedAt);
    const modifiedAt = epochSeconds(record?.ModifiedAt);
    rules.push({
      ...(boostOk ? { SamplingRateBoost: boost } : {}),
      ...(createdAt !== undefined ? { CreatedAt: createdAt } : {}),
      ...(modifiedAt !== undefined ? { ModifiedAt: modifiedAt } : {}),
      RuleName: name,
      RuleARN: typeof raw.RuleARN === 'string' ? raw.RuleARN : `arn:aws:xray:local:000000000000:sampling-rule/${name}`,
      ResourceARN: patterns.ResourceARN,
      Priority: priority,
      FixedRate: raw.FixedRate,
      ReservoirSize: raw.ReservoirSize,
      ServiceName: patterns.ServiceName,
      ServiceType: patterns.ServiceType,
      Host: patterns.Host,
      HTTPMethod: patterns.HTTPMethod,
      URLPath: patterns.URLPath,
      Version: version,
      Attributes: attributes as Record<string, string>,
    });
  });
  if (!names.has('Default')) rules.push(defaultRuleJson(defaultRule));
  return rules;
}

/** Reads and checks a rules file (JSON; see {@link parseRulesDocument}). */
export function parseRulesFile(path: string, defaultRule?: DefaultRule): SamplingRuleJson[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidRulesFileError(`cannot read the sampling rules file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new InvalidRulesFileError(`the sampling rules file ${path} is not JSON: ${(e as Error).message}`);
  }
  try {
    return parseRulesDocument(doc, defaultRule);
  } catch (e) {
    throw new InvalidRulesFileError(`the sampling rules file ${path}: ${(e as Error).message}`);
  }
}

interface ClientState {
  lastReport: number;
  quota: number;
  /** Epoch seconds until which its quota holds. */
  quotaUntil: number;
  requests: number;
  sampled: number;
  borrowed: number;
}

/**
 * The sampling API of the X-Ray service as the daemon proxies it: `GetSamplingRules` in pages, and
 * `SamplingTargets`, which splits each rule's reservoir between the clients that report to it.
 *
 * The split: a client counts while the quota it was last given holds (`ReservoirQuotaTTL`) or it
 * reported within two intervals; each gets `floor(ReservoirSize / clients)`, the remainder one each to
 * the first clients by id, but never more than what the other clients' quotas still holding leave of
 * the reservoir, so that the quotas in force never add up to more than `ReservoirSize` (a client that
 * joins gets its share once the others have reported and taken theirs down).
 */
export class SamplingApi {
  private rules: SamplingRuleJson[];
  private readonly defaultRule: DefaultRule;
  private readonly pageSize: number;
  private readonly interval: number;
  private readonly ttl: number;
  private readonly now: () => number;
  private fileSignature = '';
  /** Epoch seconds (with a fraction, as the API's timestamps) of the last change of the rules. */
  private modifiedAt: number;
  /** Moves with every change of the rules; `NextToken`s name the version they page through. */
  private version = 1;
  private readonly versions = new Map<number, SamplingRuleJson[]>();
  /** Statistics per rule name, then per client id. */
  private readonly clients = new Map<string, Map<string, ClientState>>();
  /** The last problem reading the rules file (a bad edit keeps the previous rules). */
  fileProblem: string | undefined;

  constructor(private readonly options: SamplingApiOptions = {}) {
    this.defaultRule = { fixedRate: options.defaultRule?.fixedRate ?? 0.05, reservoirSize: options.defaultRule?.reservoirSize ?? 1 };
    this.pageSize = options.pageSize ?? 100;
    this.interval = options.intervalSeconds ?? 10;
    this.ttl = options.quotaTtlSeconds ?? 60;
    this.now = options.now ?? Date.now;
    this.modifiedAt = this.now() / 1000;
    if (options.rulesFile) {
      this.fileSignature = signatureOf(options.rulesFile) ?? '';
      this.rules = parseRulesFile(options.rulesFile, this.defaultRule);
    } else this.rules = [defaultRuleJson(this.defaultRule)];
    this.versions.set(this.version, this.rules);
  }

  /** Replaces the rules (tests, the viewer); `LastRuleModification` moves. */
  setRules(rules: unknown): void {
    this.replace(parseRulesDocument(rules, this.defaultRule));
  }

  /** `POST /GetSamplingRules`. */
  getSamplingRules(body: unknown): Json {
    if (body !== undefined && !isObject(body)) throw new InvalidRequest('the request body must be a JSON object');
    this.reloadIfChanged();
    const token = (body as Json | undefined)?.NextToken;
    let rules = this.rules;
    let version = this.version;
    let start = 0;
    if (token !== undefined && token !== null) {
      // A token pages through the rules as they were when the first page was asked for, even if they
      // changed since (a client would otherwise skip or repeat rules).
      const m = typeof token === 'string' ? /^v(\d{1,9})-(\d{1,6})$/.exec(token) : null;
      const kept = m ? this.versions.get(Number(m[1])) : undefined;
      if (!m || !kept || Number(m[2]) >= kept.length) throw new InvalidRequest('NextToken is not one this daemon gave, or the rules it paged through changed too often since');
      rules = kept;
      version = Number(m[1]);
      start = Number(m[2]);
    }
    const page = rules.slice(start, start + this.pageSize);
    const next = start + this.pageSize < rules.length ? `v${version}-${start + this.pageSize}` : undefined;
    return {
      SamplingRuleRecords: page.map(({ CreatedAt, ModifiedAt, ...rule }) => ({ SamplingRule: rule, CreatedAt: CreatedAt ?? 0, ModifiedAt: ModifiedAt ?? this.modifiedAt })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  /** `POST /SamplingTargets`. */
  getSamplingTargets(body: unknown): Json {
    if (!isObject(body)) throw new InvalidRequest('the request body must be a JSON object');
    const docs = body.SamplingStatisticsDocuments;
    if (!Array.isArray(docs)) throw new InvalidRequest('SamplingStatisticsDocuments is required and must be an array');
    if (docs.length > 25) throw new InvalidRequest('SamplingStatisticsDocuments holds at most 25 documents');
    const boosts = body.SamplingBoostStatisticsDocuments;
    if (boosts !== undefined && boosts !== null && (!Array.isArray(boosts) || boosts.length > 25)) {
      throw new InvalidRequest('SamplingBoostStatisticsDocuments must be an array of at most 25 documents');
    }
    this.reloadIfChanged();
    const now = this.now() / 1000;
    const checked = docs.map((d: unknown) => {
      if (!isObject(d)) throw new InvalidRequest('a statistics document is not an object');
      const missing = ['RuleName', 'ClientID', 'Timestamp', 'RequestCount', 'SampledCount'].filter((k) => d[k] === undefined || d[k] === null);
      if (missing.length > 0) throw new InvalidRequest(`a statistics document lacks ${missing.join(', ')}`);
      if (typeof d.RuleName !== 'string' || d.RuleName.length < 1 || d.RuleName.length > 32) throw new InvalidRequest('RuleName must be a string of 1 to 32 characters');
      if (typeof d.ClientID !== 'string' || d.ClientID.length !== 24) throw new InvalidRequest('ClientID must be 24 characters');
      if (epochSeconds(d.Timestamp) === undefined) throw new InvalidRequest('Timestamp must be a time (epoch seconds)');
      for (const k of ['RequestCount', 'SampledCount', 'BorrowCount'] as const) {
        const v = d[k];
        // An optional member sent as null is absent (restJson).
        if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_COUNT)) {
          throw new InvalidRequest(`${k} must be a whole number from 0 to ${MAX_COUNT}`);
        }
      }
      return d as { RuleName: string; ClientID: string; RequestCount: number; SampledCount: number; BorrowCount?: number | null };
    });
    const byName = new Map(this.rules.map((r) => [r.RuleName, r]));
    const targets: Json[] = [];
    const unprocessed: Json[] = [];
    // Record every report first, so that clients reporting together are counted together.
    for (const d of checked) {
      const rule = byName.get(d.RuleName);
      if (!rule) {
        unprocessed.push({ RuleName: d.RuleName, ErrorCode: '400', Message: 'Unknown rule' });
        continue;
      }
      let perClient = this.clients.get(rule.RuleName);
      if (!perClient) this.clients.set(rule.RuleName, (perClient = new Map()));
      const state = perClient.get(d.ClientID) ?? { lastReport: now, quota: 0, quotaUntil: 0, requests: 0, sampled: 0, borrowed: 0 };
      state.lastReport = now;
      state.requests += d.RequestCount;
      state.sampled += d.SampledCount;
      state.borrowed += d.BorrowCount ?? 0;
      perClient.delete(d.ClientID); // re-inserted last: the map is in order of the last report
      perClient.set(d.ClientID, state);
      if (perClient.size > MAX_CLIENTS_PER_RULE) perClient.delete(perClient.keys().next().value!);
    }
    const shares = new Map<string, (clientId: string) => number>();
    for (const d of checked) {
      const rule = byName.get(d.RuleName);
      if (!rule) continue;
      let share = shares.get(rule.RuleName);
      if (!share) shares.set(rule.RuleName, (share = this.splitOf(rule, now)));
      targets.push({ RuleName: rule.RuleName, FixedRate: rule.FixedRate, ReservoirQuota: share(d.ClientID), ReservoirQuotaTTL: Math.floor(now) + this.ttl, Interval: this.interval });
    }
    return {
      SamplingTargetDocuments: targets,
      LastRuleModification: this.modifiedAt,
      UnprocessedStatistics: unprocessed,
      ...(Array.isArray(boosts) ? { UnprocessedBoostStatistics: [] } : {}),
    };
  }

  /** The rules with the statistics their clients reported. */
  report(): RuleReport[] {
    this.reloadIfChanged();
    const now = this.now() / 1000;
    return this.rules.map((rule) => {
      const perClient = this.clients.get(rule.RuleName) ?? new Map<string, ClientState>();
      const clients = [...perClient.entries()]
        .filter(([, s]) => this.counts(s, now))
        .map(([clientId, s]) => ({ clientId, lastReport: s.lastReport, quota: s.quota, requests: s.requests, sampled: s.sampled, borrowed: s.borrowed }))
        .sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
      let requests = 0;
      let sampled = 0;
      let borrowed = 0;
      for (const s of perClient.values()) {
        requests += s.requests;
        sampled += s.sampled;
        borrowed += s.borrowed;
      }
      return { rule, requests, sampled, borrowed, clients };
    });
  }

  /** Forgets the statistics (the viewer's Clear). */
  clearStatistics(): void {
    this.clients.clear();
  }

  /** Whether a client counts in a rule's split: its quota holds, or it reported within two intervals. */
  private counts(state: ClientState, now: number): boolean {
    return now < state.quotaUntil || now - state.lastReport <= 2 * this.interval;
  }

  /** The quotas of one rule now, given out one client at a time (each recorded with its TTL). */
  private splitOf(rule: SamplingRuleJson, now: number): (clientId: string) => number {
    const perClient = this.clients.get(rule.RuleName)!;
    const active: string[] = [];
    for (const [id, s] of perClient) {
      if (this.counts(s, now)) active.push(id);
      else if (now - s.lastReport > 3600) perClient.delete(id);
    }
    active.sort();
    const n = active.length;
    const size = rule.ReservoirSize;
    const index = new Map(active.map((id, i) => [id, i]));
    return (clientId) => {
      const i = index.get(clientId) ?? n;
      const fair = Math.floor(size / Math.max(1, n)) + (i < size % Math.max(1, n) ? 1 : 0);
      let others = 0;
      for (const [id, s] of perClient) if (id !== clientId && now < s.quotaUntil) others += s.quota;
      const quota = Math.max(0, Math.min(fair, size - others));
      const state = perClient.get(clientId)!;
      state.quota = quota;
      state.quotaUntil = Math.floor(now) + this.ttl;
      return quota;
    };
  }

  private reloadIfChanged(): void {
    const file = this.options.rulesFile;
    if (!file) return;
    const signature = signatureOf(file);
    if (signature === undefined) {
      this.fileProblem = `cannot read ${file}; the previous rules are served`;
      this.fileSignature = ''; // read again whenever it is back, whatever its times
      return;
    }
    // Size and inode as well as the times: a file completed within one tick of a coarse clock, or
    // copied with its times kept, is still read again.
    if (signature === this.fileSignature) return;
    this.fileSignature = signature;
    try {
      this.replace(parseRulesFile(file, this.defaultRule));
      this.fileProblem = undefined;
    } catch (e) {
      this.fileProblem = `${(e as Error).message}; the previous rules are served`;
    }
  }

  private replace(rules: SamplingRuleJson[]): void {
    this.rules = rules;
    this.modifiedAt = Math.max(this.modifiedAt + 0.001, this.now() / 1000);
    this.version++;
    this.versions.set(this.version, rules);
    for (const v of this.versions.keys()) if (v <= this.version - KEPT_VERSIONS) this.versions.delete(v);
    // Statistics of rules that are gone go with them.
    const names = new Set(rules.map((r) => r.RuleName));
    for (const name of this.clients.keys()) if (!names.has(name)) this.clients.delete(name);
  }
}

/** What tells a changed file: times, size and inode; `undefined` when it cannot be read. */
function signatureOf(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export function isInvalidRequest(e: unknown): e is Error {
  return e instanceof InvalidRequest;
}
