import { readFileSync, statSync } from 'node:fs';

/** The default rule of the X-Ray service: the first request each second, then 5 %. */
export interface DefaultRule {
  /** @default 0.05 */
  fixedRate: number;
  /** @default 1 */
  reservoirSize: number;
}

/** A sampling rule as the X-Ray API writes it (`SamplingRule`). */
export interface SamplingRuleJson {
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
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(name)) {
      throw new InvalidRulesFileError(`${where}: RuleName must be 1 to 32 letters, digits, "-" or "_" (got ${JSON.stringify(name)})`);
    }
    const at = `rule "${name}"`;
    if (names.has(name)) throw new InvalidRulesFileError(`${at} is defined twice`);
    names.add(name);
    const priority = raw.Priority ?? (name === 'Default' ? 10000 : undefined);
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
      if (typeof v !== 'string' || v.length === 0 || v.length > PATTERN_LIMITS[field]) {
        throw new InvalidRulesFileError(`${at}: ${field} must be a pattern of 1 to ${PATTERN_LIMITS[field]} characters (got ${JSON.stringify(raw[field])})`);
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
    rules.push({
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
  requests: number;
  sampled: number;
  borrowed: number;
}

/**
 * The sampling API of the X-Ray service as the daemon proxies it: `GetSamplingRules` in pages, and
 * `SamplingTargets`, which splits each rule's reservoir between the clients that report to it (those
 * whose last report is at most two intervals old), as the service does: each gets
 * `floor(ReservoirSize / clients)`, and the remainder goes one each to the first clients by id, so
 * that the quotas add up to the reservoir.
 */
export class SamplingApi {
  private rules: SamplingRuleJson[];
  private readonly defaultRule: DefaultRule;
  private readonly pageSize: number;
  private readonly interval: number;
  private readonly ttl: number;
  private readonly now: () => number;
  private fileMtimeMs = 0;
  /** Epoch seconds (with a fraction, as the API's timestamps) of the last change of the rules. */
  private modifiedAt: number;
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
      this.rules = parseRulesFile(options.rulesFile, this.defaultRule);
      this.fileMtimeMs = statSync(options.rulesFile).mtimeMs;
    } else this.rules = [defaultRuleJson(this.defaultRule)];
  }

  /** Replaces the rules (tests, the viewer); `LastRuleModification` moves. */
  setRules(rules: unknown): void {
    this.rules = parseRulesDocument(rules, this.defaultRule);
    this.modified();
  }

  /** `POST /GetSamplingRules`. */
  getSamplingRules(body: unknown): Json {
    if (body !== undefined && !isObject(body)) throw new InvalidRequest('the request body must be a JSON object');
    this.reloadIfChanged();
    const token = (body as Json | undefined)?.NextToken;
    let start = 0;
    if (token !== undefined && token !== null) {
      const m = typeof token === 'string' ? /^page-(\d{1,6})$/.exec(token) : null;
      if (!m || Number(m[1]) >= this.rules.length) throw new InvalidRequest('NextToken is not one this daemon gave');
      start = Number(m[1]);
    }
    const page = this.rules.slice(start, start + this.pageSize);
    const next = start + this.pageSize < this.rules.length ? `page-${start + this.pageSize}` : undefined;
    return {
      SamplingRuleRecords: page.map((rule) => ({ SamplingRule: rule, CreatedAt: 0, ModifiedAt: this.modifiedAt })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  /** `POST /SamplingTargets`. */
  getSamplingTargets(body: unknown): Json {
    const docs = (body as { SamplingStatisticsDocuments?: unknown } | undefined)?.SamplingStatisticsDocuments;
    if (!Array.isArray(docs)) throw new InvalidRequest('SamplingStatisticsDocuments is required and must be an array');
    if (docs.length > 25) throw new InvalidRequest('SamplingStatisticsDocuments holds at most 25 documents');
    this.reloadIfChanged();
    const now = this.now() / 1000;
    const checked = docs.map((d: unknown) => {
      if (!isObject(d)) throw new InvalidRequest('a statistics document is not an object');
      const missing = ['RuleName', 'ClientID', 'Timestamp', 'RequestCount', 'SampledCount'].filter((k) => d[k] === undefined);
      if (missing.length > 0) throw new InvalidRequest(`a statistics document lacks ${missing.join(', ')}`);
      if (typeof d.ClientID !== 'string' || d.ClientID.length !== 24) throw new InvalidRequest('ClientID must be 24 characters');
      for (const k of ['RequestCount', 'SampledCount', 'BorrowCount'] as const) {
        if (d[k] !== undefined && (typeof d[k] !== 'number' || !Number.isInteger(d[k]) || (d[k] as number) < 0)) throw new InvalidRequest(`${k} must be a whole number >= 0`);
      }
      return d as { RuleName: unknown; ClientID: string; RequestCount: number; SampledCount: number; BorrowCount?: number };
    });
    const targets: Json[] = [];
    const unprocessed: Json[] = [];
    // Record every report first, so that clients reporting together are counted together.
    for (const d of checked) {
      const rule = this.rules.find((r) => r.RuleName === d.RuleName);
      if (!rule) {
        unprocessed.push({ RuleName: d.RuleName, ErrorCode: '400', Message: 'Unknown rule' });
        continue;
      }
      let perClient = this.clients.get(rule.RuleName);
      if (!perClient) this.clients.set(rule.RuleName, (perClient = new Map()));
      const state = perClient.get(d.ClientID) ?? { lastReport: now, quota: 0, requests: 0, sampled: 0, borrowed: 0 };
      state.lastReport = now;
      state.requests += d.RequestCount;
      state.sampled += d.SampledCount;
      state.borrowed += d.BorrowCount ?? 0;
      perClient.set(d.ClientID, state);
    }
    for (const d of checked) {
      const rule = this.rules.find((r) => r.RuleName === d.RuleName);
      if (!rule) continue;
      const quota = this.quotaOf(rule, d.ClientID, now);
      targets.push({ RuleName: rule.RuleName, FixedRate: rule.FixedRate, ReservoirQuota: quota, ReservoirQuotaTTL: Math.floor(now) + this.ttl, Interval: this.interval });
    }
    return { SamplingTargetDocuments: targets, LastRuleModification: this.modifiedAt, UnprocessedStatistics: unprocessed };
  }

  /** The rules with the statistics their clients reported. */
  report(): RuleReport[] {
    this.reloadIfChanged();
    const now = this.now() / 1000;
    return this.rules.map((rule) => {
      const perClient = this.clients.get(rule.RuleName) ?? new Map<string, ClientState>();
      const clients = [...perClient.entries()]
        .filter(([, s]) => now - s.lastReport <= 2 * this.interval)
        .map(([clientId, s]) => ({ clientId, ...s }))
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

  private quotaOf(rule: SamplingRuleJson, clientId: string, now: number): number {
    const perClient = this.clients.get(rule.RuleName)!;
    const active: string[] = [];
    for (const [id, s] of perClient) {
      if (now - s.lastReport <= 2 * this.interval) active.push(id);
      else if (now - s.lastReport > 3600) perClient.delete(id);
    }
    active.sort();
    const n = active.length;
    const index = active.indexOf(clientId);
    const quota = Math.floor(rule.ReservoirSize / n) + (index < rule.ReservoirSize % n ? 1 : 0);
    perClient.get(clientId)!.quota = quota;
    return quota;
  }

  private reloadIfChanged(): void {
    const file = this.options.rulesFile;
    if (!file) return;
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch (e) {
      this.fileProblem = `cannot read ${file}: ${(e as Error).message}; the previous rules are served`;
      return;
    }
    if (mtime === this.fileMtimeMs) return;
    this.fileMtimeMs = mtime;
    try {
      this.rules = parseRulesFile(file, this.defaultRule);
      this.fileProblem = undefined;
      this.modified();
    } catch (e) {
      this.fileProblem = `${(e as Error).message}; the previous rules are served`;
    }
  }

  private modified(): void {
    this.modifiedAt = Math.max(this.modifiedAt + 0.001, this.now() / 1000);
  }
}

export function isInvalidRequest(e: unknown): e is Error {
  return e instanceof InvalidRequest;
}
