import { request as httpRequest, type IncomingMessage } from 'node:http';

import type { DaemonEndpoint } from '../../emitting/daemon-address.js';
import { withoutTracing } from '../../instrumentation/suppression.js';
import { type RuleStatistics, type SamplingRuleDefinition, type SamplingTarget } from './sampling-rule.js';

/** A call of the sampling API that failed: unreachable, an HTTP error, or an answer that is not the API's. */
export class SamplingApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplingApiError';
  }
}

/** One page of `GetSamplingRules`. */
export interface SamplingRulesPage {
  readonly rules: SamplingRuleDefinition[];
  /** Rules of the page that cannot be used, with the reason. */
  readonly skipped: Array<{ readonly name: string; readonly reason: string }>;
  readonly nextToken: string | undefined;
}

/** The answer of `SamplingTargets`. */
export interface SamplingTargetsAnswer {
  readonly targets: Map<string, SamplingTarget>;
  /** Epoch milliseconds of the last change of the rules, when given. */
  readonly lastRuleModificationMs: number | undefined;
  readonly unprocessed: Array<{ readonly ruleName: string; readonly errorCode: string; readonly message: string }>;
}

/** Options of the client. */
export interface SamplingApiClientOptions {
  /** Milliseconds a call may take, connection included. @default 5000 */
  timeoutMs?: number;
  /** The largest answer read. @default 4 MiB */
  maxResponseBytes?: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The sampling API of the X-Ray daemon (its TCP side proxies `POST /GetSamplingRules` and
 * `POST /SamplingTargets` to the X-Ray service and signs them). Calls run outside any trace (the
 * recorder's own HTTP is never recorded) on sockets that never keep the process alive.
 * @internal
 */
export class SamplingApiClient {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly inFlight = new Set<{ destroy(): void }>();

  constructor(
    private readonly endpoint: DaemonEndpoint,
    options: SamplingApiClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
  }

  /** `host:port` of the API. */
  get address(): string {
    return this.endpoint.host.includes(':') ? `[${this.endpoint.host}]:${this.endpoint.port}` : `${this.endpoint.host}:${this.endpoint.port}`;
  }

  /** One page of rules. */
  async getSamplingRules(nextToken: string | undefined): Promise<SamplingRulesPage> {
    const body = await this.post('/GetSamplingRules', nextToken === undefined ? {} : { NextToken: nextToken });
    return parseRulesPage(body);
  }

  /** Reports statistics (at most 25 documents) and returns the targets. */
  async getSamplingTargets(clientId: string, nowSeconds: number, statistics: readonly RuleStatistics[]): Promise<SamplingTargetsAnswer> {
    const documents = statistics.map((s) => ({
      RuleName: s.ruleName,
      ClientID: clientId,
      Timestamp: nowSeconds,
      RequestCount: s.requestCount,
      SampledCount: s.sampledCount,
      BorrowCount: s.borrowCount,
    }));
    const body = await this.post('/SamplingTargets', { SamplingStatisticsDocuments: documents });
    return parseTargets(body);
  }

  /** Aborts the calls under way (shutdown). */
  abort(): void {
    for (const r of this.inFlight) r.destroy();
    this.inFlight.clear();
  }

  private post(path: string, payload: Json): Promise<unknown> {
    const text = JSON.stringify(payload);
    return new Promise<unknown>((resolve, reject) => {
      const fail = (message: string): void => reject(new SamplingApiError(message));
      withoutTracing(() => {
        let req: ReturnType<typeof httpRequest>;
        try {
          req = httpRequest({
            host: this.endpoint.host,
            port: this.endpoint.port,
            method: 'POST',
            path,
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
            timeout: this.timeoutMs,
          });
        } catch (e) {
          fail(`POST ${path}: ${(e as Error).message}`);
          return;
        }
        this.inFlight.add(req);
        const done = (): void => void this.inFlight.delete(req);
        // The whole call (connection, answer) within the timeout, and never holding the process open.
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        timer.unref();
        req.on('socket', (socket) => socket.unref());
        req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
        req.on('error', (e) => {
          clearTimeout(timer);
          done();
          fail(`POST ${path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        });
        let answered = false;
        req.on('close', () => {
          if (answered) return;
          clearTimeout(timer);
          done();
          fail(`POST ${path}: the connection closed before an answer`);
        });
        req.on('response', (res: IncomingMessage) => {
          answered = true;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxBytes) {
              clearTimeout(timer);
              done();
              fail(`POST ${path}: the answer is over ${this.maxBytes} bytes`);
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (e) => {
            clearTimeout(timer);
            done();
            fail(`POST ${path}: ${e.message}`);
          });
          res.on('aborted', () => fail(`POST ${path}: the answer was cut off`));
          res.on('end', () => {
            clearTimeout(timer);
            done();
            const status = res.statusCode ?? 0;
            const textIn = Buffer.concat(chunks).toString('utf8');
            if (status < 200 || status > 299) {
              fail(`POST ${path}: HTTP ${status}${describeError(textIn)}`);
              return;
            }
            try {
              resolve(JSON.parse(textIn));
            } catch {
              fail(`POST ${path}: the answer is not JSON`);
            }
          });
        });
        req.end(text);
      });
    });
  }
}

function describeError(text: string): string {
  try {
    const body = JSON.parse(text) as Json;
    const type = typeof body.__type === 'string' ? body.__type : undefined;
    const message = typeof body.message === 'string' ? body.message : typeof body.Message === 'string' ? body.Message : undefined;
    const parts = [type, message].filter(Boolean).join(': ');
    return parts ? ` (${parts.slice(0, 200)})` : '';
  } catch {
    return '';
  }
}

/** A timestamp of the API: epoch seconds as a number, or an ISO string (some fixtures); in milliseconds. */
export function timestampMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string' && value.length > 0) {
    const n = Number(value);
    if (Number.isFinite(n)) return n * 1000;
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

const PATTERN_FIELDS = [
  ['ServiceName', 'serviceName'],
  ['ServiceType', 'serviceType'],
  ['Host', 'host'],
  ['HTTPMethod', 'httpMethod'],
  ['URLPath', 'urlPath'],
  ['ResourceARN', 'resourceArn'],
] as const;

/** Checks one `SamplingRule`; a string says why it cannot be used. */
export function parseSamplingRule(rule: unknown): SamplingRuleDefinition | string {
  if (!isObject(rule)) return 'it is not an object';
  const name = rule.RuleName;
  if (typeof name !== 'string' || name.length === 0 || name.length > 32) return 'RuleName must be a string of 1 to 32 characters';
  if (rule.Version !== 1) return `Version ${JSON.stringify(rule.Version)} is not supported (only 1)`;
  const priority = rule.Priority;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) return 'Priority must be a number';
  const rate = rule.FixedRate;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return 'FixedRate must be a number from 0 to 1';
  const size = rule.ReservoirSize;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) return 'ReservoirSize must be a whole number >= 0';
  const patterns: Record<string, string> = {};
  for (const [field, key] of PATTERN_FIELDS) {
    const value = rule[field];
    // The API allows an empty pattern: it matches an empty value (and, as every pattern, an unknown one).
    if (typeof value !== 'string') return `${field} must be a string`;
    patterns[key] = value;
  }
  const attributes: Array<readonly [string, string]> = [];
  if (rule.Attributes !== undefined && rule.Attributes !== null) {
    if (!isObject(rule.Attributes)) return 'Attributes must be an object of strings';
    for (const [k, v] of Object.entries(rule.Attributes)) {
      if (typeof v !== 'string') return `Attributes.${k} must be a string`;
      attributes.push([k, v]);
    }
  }
  return {
    ruleName: name,
    priority,
    fixedRate: rate,
    reservoirSize: size,
    serviceName: patterns.serviceName,
    serviceType: patterns.serviceType,
    host: patterns.host,
    httpMethod: patterns.httpMethod,
    urlPath: patterns.urlPath,
    resourceArn: patterns.resourceArn,
    attributes,
  };
}

function parseRulesPage(body: unknown): SamplingRulesPage {
  if (!isObject(body)) throw new SamplingApiError('GetSamplingRules answered something that is not a JSON object');
  const records = body.SamplingRuleRecords ?? [];
  if (!Array.isArray(records)) throw new SamplingApiError('GetSamplingRules answered SamplingRuleRecords that is not an array');
  const next = body.NextToken;
  if (next !== undefined && next !== null && typeof next !== 'string') throw new SamplingApiError('GetSamplingRules answered a NextToken that is not a string');
  const rules: SamplingRuleDefinition[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const record of records) {
    const raw = isObject(record) ? record.SamplingRule : undefined;
    const parsed = parseSamplingRule(raw);
    if (typeof parsed === 'string') {
      const name = isObject(raw) && typeof raw.RuleName === 'string' ? raw.RuleName.slice(0, 64) : '(no name)';
      skipped.push({ name, reason: parsed });
    } else rules.push(parsed);
  }
  return { rules, skipped, nextToken: typeof next === 'string' && next.length > 0 ? next : undefined };
}

function parseTargets(body: unknown): SamplingTargetsAnswer {
  if (!isObject(body)) throw new SamplingApiError('SamplingTargets answered something that is not a JSON object');
  const docs = body.SamplingTargetDocuments ?? [];
  if (!Array.isArray(docs)) throw new SamplingApiError('SamplingTargets answered SamplingTargetDocuments that is not an array');
  const targets = new Map<string, SamplingTarget>();
  for (const d of docs) {
    if (!isObject(d) || typeof d.RuleName !== 'string') continue;
    const rate = d.FixedRate;
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) continue;
    const quota = d.ReservoirQuota;
    const interval = d.Interval;
    targets.set(d.RuleName, {
      fixedRate: rate,
      reservoirQuota: typeof quota === 'number' && Number.isInteger(quota) && quota >= 0 ? quota : undefined,
      reservoirQuotaTtlMs: timestampMs(d.ReservoirQuotaTTL),
      intervalSeconds: typeof interval === 'number' && Number.isInteger(interval) && interval > 0 ? interval : undefined,
    });
  }
  const unprocessed: Array<{ ruleName: string; errorCode: string; message: string }> = [];
  if (Array.isArray(body.UnprocessedStatistics)) {
    for (const u of body.UnprocessedStatistics) {
      if (!isObject(u)) continue;
      unprocessed.push({
        ruleName: typeof u.RuleName === 'string' ? u.RuleName : '',
        errorCode: typeof u.ErrorCode === 'string' ? u.ErrorCode : String(u.ErrorCode ?? ''),
        message: typeof u.Message === 'string' ? u.Message.slice(0, 200) : '',
      });
    }
  }
  return { targets, lastRuleModificationMs: timestampMs(body.LastRuleModification), unprocessed };
}

