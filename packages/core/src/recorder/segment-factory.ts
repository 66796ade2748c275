import type { ResolvedConfig } from '../config/config.js';
import { describeValue, diag } from '../diag.js';
import { Segment } from '../model/segment.js';
import type { PluginResult } from '../plugins/plugins.js';
import type { SegmentProcessor } from '../processing/segment-processor.js';
import { isValidEntityId, newTraceId } from '../propagation/ids.js';
import { TraceHeader } from '../propagation/trace-header.js';
import type { Sampler, SamplingRequest } from '../sampling/sampler.js';
import { wildcardMatch } from '../wildcard.js';
import { sanitizeName } from '../names.js';
import type { Recorder } from './recorder.js';

/** The SDK name and version written to `aws.xray` of every segment. */
export const SDK_NAME = 'xrayjs for Node.js';
export const SDK_VERSION = '0.1.0';

/**
 * Makes the segments of one configuration: the name (dynamic naming), the sampling decision (caller's
 * header, forced decision, `SAMPLING: false`, the sampler), the trace and parent ids, and the shared
 * `aws` and `service` blocks (with plugin data once the plugins have run).
 * @internal
 */
export class SegmentFactory {
  private aws: Record<string, unknown> = { xray: { sdk: SDK_NAME, sdk_version: SDK_VERSION } };
  /** `aws` with `xray.sampling_rule_name`, one object per rule, so that its JSON is cached once. */
  private awsByRule = new Map<string, Record<string, unknown>>();
  private readonly service: Record<string, unknown> = { runtime: 'node', runtime_version: process.version };
  /** `origin` from plugins (`AWS::EC2::Instance`, ...). */
  origin: string | undefined;
  started = 0;
  sampled = 0;

  constructor(
    private readonly cfg: ResolvedConfig,
    private readonly sampler: Sampler,
    private readonly processor: SegmentProcessor,
    private readonly recorder: Recorder,
  ) {}

  /** Adds what the plugins found to every later segment. */
  setPluginData(result: PluginResult): void {
    this.aws = { ...result.aws, xray: { sdk: SDK_NAME, sdk_version: SDK_VERSION } };
    this.awsByRule = new Map();
    this.origin = result.origin;
  }

  /** The segment name for a request to `host`: the host when it matches `DYNAMIC_NAMING`. */
  nameFor(host: string | undefined): string {
    const cfg = this.cfg;
    if (cfg.dynamicNaming && host && wildcardMatch(cfg.dynamicNaming, host)) return sanitizeName(host, cfg.tracingName);
    return cfg.tracingName;
  }

  /** A new segment, continuing `header`'s trace when its Root is valid. */
  create(name: string, header: TraceHeader | undefined, forced: boolean | undefined, samplingRequest: SamplingRequest): Segment {
    const decision = forced ?? this.decide(header, samplingRequest);
    const continued = header !== undefined && header.hasValidRoot();
    const sampled = decision !== false;
    this.started++;
    if (sampled) this.sampled++;
    return new Segment(name, {
      traceId: continued ? header.root : newTraceId(),
      parentId: continued && isValidEntityId(header.parent) ? header.parent : undefined,
      sampled,
      aws: typeof decision === 'string' ? this.awsForRule(decision) : this.aws,
      service: this.service,
      origin: this.origin,
      recorder: this.recorder,
      processor: this.processor,
      incomingHeader: header,
    });
  }

  /** A header value or a parsed header, as a parsed header. */
  static header(value: unknown): TraceHeader | undefined {
    if (value instanceof TraceHeader) return value;
    const raw = Array.isArray(value) ? (value[0] as unknown) : value;
    return typeof raw === 'string' && raw.length > 0 ? TraceHeader.fromString(raw) : undefined;
  }

  private awsForRule(rule: string): Record<string, unknown> {
    let aws = this.awsByRule.get(rule);
    if (aws === undefined) {
      aws = { ...this.aws, xray: { ...(this.aws.xray as object), sampling_rule_name: rule } };
      // Rule names come from configuration; the bound only guards against a sampler that invents them.
      if (this.awsByRule.size < 1000) this.awsByRule.set(rule, aws);
    }
    return aws;
  }

  private decide(header: TraceHeader | undefined, request: SamplingRequest): boolean | string {
    if (header?.sampled === '1') return true;
    if (header?.sampled === '0') return false;
    if (!this.cfg.sampling) return true;
    try {
      const decision = this.sampler.shouldTrace(request);
      if (typeof decision === 'string') return decision.length > 0 ? decision : true;
      return decision === true;
    } catch (e) {
      diag.error('sampler_failed', `The sampler threw (${describeValue(e)}); the request is not sampled.`);
      return false;
    }
  }
}
