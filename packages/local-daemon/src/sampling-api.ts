/** The one rule the local daemon hands out: the X-Ray service's default rule. */
export interface DefaultRule {
  /** @default 0.05 */
  fixedRate: number;
  /** @default 1 */
  reservoirSize: number;
}

type Json = Record<string, unknown>;

class InvalidRequest extends Error {}

/** `POST /GetSamplingRules`: one page holding the `Default` rule. */
export function getSamplingRules(rule: DefaultRule, body: unknown): Json {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new InvalidRequest('the request body must be a JSON object');
  }
  return {
    SamplingRuleRecords: [
      {
        SamplingRule: {
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
        },
        CreatedAt: 0,
        ModifiedAt: 0,
      },
    ],
  };
}

/** `POST /SamplingTargets`: a target per reported rule (the whole reservoir for each client). */
export function getSamplingTargets(rule: DefaultRule, body: unknown, nowSeconds: number): Json {
  const docs = (body as { SamplingStatisticsDocuments?: unknown })?.SamplingStatisticsDocuments;
  if (!Array.isArray(docs)) throw new InvalidRequest('SamplingStatisticsDocuments is required and must be an array');
  if (docs.length > 25) throw new InvalidRequest('SamplingStatisticsDocuments holds at most 25 documents');
  const targets: Json[] = [];
  const unprocessed: Json[] = [];
  for (const d of docs as Json[]) {
    const missing = ['RuleName', 'ClientID', 'Timestamp', 'RequestCount', 'SampledCount'].filter((k) => d?.[k] === undefined);
    if (missing.length > 0) throw new InvalidRequest(`a statistics document lacks ${missing.join(', ')}`);
    if (d.RuleName !== 'Default') {
      unprocessed.push({ RuleName: d.RuleName, ErrorCode: '400', Message: 'Unknown rule' });
      continue;
    }
    targets.push({ RuleName: 'Default', FixedRate: rule.fixedRate, ReservoirQuota: rule.reservoirSize, ReservoirQuotaTTL: nowSeconds + 300, Interval: 10 });
  }
  return { SamplingTargetDocuments: targets, LastRuleModification: 0, UnprocessedStatistics: unprocessed };
}

export function isInvalidRequest(e: unknown): e is Error {
  return e instanceof InvalidRequest;
}
