import { resolveConfig, type ResolvedConfig, type XRayOptions } from './config.js';
import { traceContext } from './context.js';
import { diag } from './diag.js';
import { DocumentWriter, type WriterStats } from './emitting/document-writer.js';
import type { EmitterStats, SegmentEmitter } from './emitting/segment-emitter.js';
import { UdpEmitter } from './emitting/udp-emitter.js';
import {
  Segment,
  Subsegment,
  type AddErrorOptions,
  type AnnotationValue,
  type Entity,
  type HttpRequestData,
  type HttpResponseData,
} from './entity.js';
import { SegmentNotFoundError, XRayConfigError } from './errors.js';
import { isValidEntityId, newTraceId } from './ids.js';
import { sanitizeName } from './names.js';
import { runPlugins } from './plugins/plugins.js';
import { LocalSampler } from './sampling/local-sampler.js';
import type { Sampler, SamplingRequest } from './sampling/sampler.js';
import { TraceHeader } from './trace-header.js';
import { wildcardMatch } from './wildcard.js';

/** The SDK name and version written to `aws.xray` of every segment. */
export const SDK_NAME = 'xrayjs for Node.js';
export const SDK_VERSION = '0.1.0';

/** What the web layer knows about an incoming request. */
export interface IncomingRequest {
  /** The `X-Amzn-Trace-Id` header value. */
  traceHeader?: string | string[];
  /** The Host header (dynamic naming, sampling rules). */
  host?: string;
  method?: string;
  /** Path without query string (sampling rules). */
  path?: string;
  /** Force the decision instead of the caller's header and the sampler (`false` for excluded routes). */
  sampled?: boolean;
}

/** Options of `beginSegment` and `captureSegment`. */
export interface BeginSegmentOptions {
  /** Continue this trace: a header value or a parsed header. */
  traceHeader?: string | TraceHeader;
  /** Force the decision instead of asking the sampler. */
  sampled?: boolean;
  /** Attributes for sampling rules. */
  samplingRequest?: SamplingRequest;
}

/** Options of `beginSubsegment` and `capture`. */
export interface SubsegmentOptions {
  /** @default 'local' */
  namespace?: string;
}

/** Counters of the recorder. */
export interface RecorderStats {
  segmentsStarted: number;
  segmentsSampled: number;
  writer: WriterStats | undefined;
  emitter: EmitterStats | undefined;
  /** Problems of the library itself by kind (each kind is logged once). */
  problems: Record<string, number>;
}

/** Decides which flag an error sets (the NestJS package maps HTTP exceptions). */
export type ErrorClassifier = (error: unknown) => AddErrorOptions['flag'];

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The recorder: configuration, sampling, the current segment, and the way documents leave.
 * `recorder` is the process-wide instance; `configure()` it once at start-up.
 */
export class Recorder {
  private cfg: ResolvedConfig | undefined;
  private on = false;
  private writer: DocumentWriter | undefined;
  private emitter: SegmentEmitter | undefined;
  private sampler: Sampler | undefined;
  private aws: Record<string, unknown> = { xray: { sdk: SDK_NAME, sdk_version: SDK_VERSION } };
  /** `aws` with `xray.sampling_rule_name`, one object per rule, so that its JSON is cached once. */
  private awsByRule = new Map<string, Record<string, unknown>>();
  private readonly service: Record<string, unknown> = { runtime: 'node', runtime_version: process.version };
  private origin: string | undefined;
  private pending: Promise<void> = Promise.resolve();
  private classify: ErrorClassifier | undefined;
  private started = 0;
  private sampledCount = 0;

  /**
   * Applies a configuration (see {@link XRayOptions}); environment variables win over it. Throws an
   * `XRayConfigError` that names every bad key and its fix. Calling it again replaces the previous
   * configuration.
   */
  configure(options: XRayOptions = {}): this {
    const cfg = resolveConfig(options);
    const old = this.emitter;
    const oldSampler = this.sampler;
    this.cfg = cfg;
    diag.setLogger(cfg.logger);
    this.on = cfg.enabled;
    this.origin = undefined;
    this.aws = { xray: { sdk: SDK_NAME, sdk_version: SDK_VERSION } };
    this.awsByRule = new Map();
    if (oldSampler) void Promise.resolve(oldSampler.stop?.()).catch(() => {});
    if (old && old !== cfg.emitter) void old.shutdown().catch(() => {});
    if (!cfg.enabled) {
      this.emitter = this.writer = this.sampler = undefined;
      this.pending = Promise.resolve();
      return this;
    }
    const emitter = cfg.emitter ?? new UdpEmitter(cfg.daemonAddress.udp);
    this.emitter = emitter;
    this.writer = new DocumentWriter(emitter, {
      maxTraceBack: cfg.maxTraceBack,
      streamingThreshold: cfg.streamingThreshold,
    });
    this.sampler = cfg.sampler ?? new LocalSampler(cfg.samplingRules);
    this.sampler.start?.();
    const tasks: Promise<void>[] = [];
    if (emitter instanceof UdpEmitter) {
      tasks.push(
        emitter.resolve().catch((e: Error) => {
          throw new XRayConfigError([`AWS_XRAY_DAEMON_ADDRESS "${cfg.daemonAddressText}": ${e.message}. Use the address of the X-Ray daemon: an IP address or a host name that resolves.`]);
        }),
      );
    }
    if (cfg.plugins.length > 0) {
      tasks.push(
        runPlugins(cfg.plugins, {
          ec2MetadataEndpoint: cfg.ec2MetadataEndpoint,
          elasticBeanstalkConfigPath: cfg.elasticBeanstalkConfigPath,
        }).then((result) => {
          if (this.cfg !== cfg) return;
          this.aws = { ...result.aws, xray: { sdk: SDK_NAME, sdk_version: SDK_VERSION } };
          this.awsByRule = new Map();
          this.origin = result.origin;
        }),
      );
    }
    this.pending = Promise.all(tasks).then(() => undefined);
    this.pending.catch(() => {}); // reported by ready()
    return this;
  }

  /**
   * Resolves when start-up work is done (daemon host name resolved, plugins run). Rejects with an
   * `XRayConfigError` when the daemon address cannot be resolved. Segments begun before it resolves
   * carry no plugin data.
   */
  ready(): Promise<void> {
    return this.pending;
  }

  /** Whether tracing is on (configured, and not disabled by `AWS_XRAY_SDK_ENABLED`). */
  get enabled(): boolean {
    return this.on;
  }

  /** The resolved configuration (after `configure()`). */
  get config(): ResolvedConfig | undefined {
    return this.cfg;
  }

  /** Sets how recorded errors map to flags (default: every error is a `fault`). */
  setErrorClassifier(classifier: ErrorClassifier | undefined): void {
    this.classify = classifier;
  }

  // ---------------------------------------------------------------- requests

  /**
   * Begins the segment of an incoming request, without making it current: continues the caller's
   * trace, names it (dynamic naming) and decides sampling. Returns `undefined` when tracing is off.
   * Record the request with {@link Recorder.setRequest} (only sampled segments keep it) and run the
   * handler in the segment with {@link Recorder.runWith}.
   */
  beginRequestSegment(request: IncomingRequest): Segment | undefined {
    if (!this.on) return undefined;
    const raw = Array.isArray(request.traceHeader) ? request.traceHeader[0] : request.traceHeader;
    const header = raw ? TraceHeader.fromString(raw) : undefined;
    const name = this.segmentName(request.host);
    return this.newSegment(name, header, request.sampled, {
      host: request.host,
      method: request.method,
      path: request.path,
      service: name,
      serviceType: this.origin,
    });
  }

  /**
   * Records the request of a request segment (`http.request`); ignored for an unsampled segment. A web
   * integration can check `segment.sampled` first, so that unsampled requests cost no URL building.
   */
  setRequest(segment: Segment, request: HttpRequestData): void {
    if (!segment.isSampled) return;
    segment.setHttpRequest(request);
    if (this.cfg?.urlsAsAnnotations) copyToAnnotations(segment, segment.http!.request!);
  }

  /** Records the response of a request segment (status flags, content length). */
  setResponse(segment: Segment, response: HttpResponseData): void {
    if (!segment.isSampled) return;
    segment.setHttpResponse(response);
    if (this.cfg?.urlsAsAnnotations) copyToAnnotations(segment, segment.http!.response!);
  }

  /**
   * The `X-Amzn-Trace-Id` of the response, as the Python SDK writes it: `Root=<trace id>`, plus
   * `;Sampled=<1|0>` when the caller asked the callee to decide (`Sampled=?`).
   */
  responseTraceHeader(segment: Segment): string {
    return segment.incomingHeader?.sampled === '?'
      ? `Root=${segment.trace_id};Sampled=${segment.isSampled ? '1' : '0'}`
      : `Root=${segment.trace_id}`;
  }

  /**
   * The `X-Amzn-Trace-Id` for an outgoing call made from `entity` (default: the current entity):
   * `Root=…;Parent=<entity id>;Sampled=<1|0>`, then the extra pairs of the incoming header. An
   * unsampled trace always propagates `Sampled=0`.
   */
  downstreamHeader(entity: Entity | undefined = traceContext.get()): string | undefined {
    if (!entity) return undefined;
    const segment = entity.segment;
    const header = new TraceHeader({
      root: segment.trace_id,
      parent: entity.id,
      sampled: segment.isSampled ? '1' : '0',
      extra: segment.incomingHeader?.extra,
    });
    return header.toString();
  }

  /** Runs `fn` with `entity` as the current entity. */
  runWith<T>(entity: Entity | undefined, fn: () => T): T {
    return traceContext.run(entity, fn);
  }

  // ---------------------------------------------------------------- manual API

  /**
   * Begins a segment for work outside a request (start-up, jobs, consumers) and makes it current for
   * the rest of this synchronous code and what it starts. Prefer {@link Recorder.captureSegment}, which
   * scopes it to a function. Returns `undefined` when tracing is off.
   */
  beginSegment(name?: string, options: BeginSegmentOptions = {}): Segment | undefined {
    const segment = this.createSegment(name, options);
    if (segment) traceContext.enter(segment);
    return segment;
  }

  /** Closes the current segment (and sends it) and leaves its context. */
  endSegment(endTime?: number): void {
    if (!this.on) return;
    const entity = traceContext.get();
    if (!entity) {
      this.contextMissing('endSegment');
      return;
    }
    entity.segment.close(endTime);
    traceContext.enter(undefined);
  }

  /**
   * Runs `fn` in a new segment of its own, closed when `fn` returns or its promise settles; an error
   * is recorded and rethrown unchanged.
   */
  captureSegment<T>(name: string | undefined, fn: (segment: Segment | undefined) => T, options: BeginSegmentOptions = {}): T {
    const segment = this.createSegment(name, options);
    if (!segment) return fn(undefined);
    return this.runSettled(segment, fn);
  }

  /**
   * Begins a subsegment under the current entity and makes it current for the rest of this synchronous
   * code and what it starts. With no segment, the context-missing strategy applies and `undefined` is
   * returned; in an unsampled trace it returns `undefined` quietly. Prefer {@link Recorder.capture},
   * whose scope keeps concurrent siblings apart.
   */
  beginSubsegment(name: string, options: SubsegmentOptions = {}): Subsegment | undefined {
    if (!this.on) return undefined;
    const parent = traceContext.get();
    if (!parent) {
      this.contextMissing('beginSubsegment');
      return undefined;
    }
    if (!parent.segment.isSampled) return undefined;
    const sub = new Subsegment(name, parent, options);
    traceContext.enter(sub);
    return sub;
  }

  /** Closes the current subsegment and makes its parent current again. */
  endSubsegment(endTime?: number): void {
    if (!this.on) return;
    const entity = traceContext.get();
    if (!entity) {
      this.contextMissing('endSubsegment');
      return;
    }
    if (!(entity instanceof Subsegment)) return;
    entity.close(endTime);
    traceContext.enter(entity.parent);
  }

  /**
   * Runs `fn` (sync or async) in a new subsegment of the current entity: nested calls become its
   * children, concurrent calls siblings. An error is recorded and rethrown unchanged. With no
   * segment, the context-missing strategy applies and `fn` still runs (unless it is `RUNTIME_ERROR`).
   *
   * @example await recorder.capture('loadOrders', () => repo.find())
   */
  capture<T>(name: string, fn: (subsegment: Subsegment | undefined) => T, options: SubsegmentOptions = {}): T {
    if (!this.on) return fn(undefined);
    const parent = traceContext.get();
    if (!parent) {
      this.contextMissing('capture');
      return fn(undefined);
    }
    if (!parent.segment.isSampled) return fn(undefined);
    const sub = new Subsegment(name, parent, options);
    return this.runSettled(sub, fn);
  }

  /**
   * Creates a subsegment under `parent` (default: the current entity) without making it current; the
   * caller closes it. For integrations whose work starts later than the call (an Observable starts on
   * subscribe). Applies the context-missing strategy when there is no parent; `undefined` when there is
   * none, tracing is off or the trace is unsampled.
   */
  startSubsegment(name: string, options: SubsegmentOptions & { parent?: Entity } = {}): Subsegment | undefined {
    if (!this.on) return undefined;
    const parent = options.parent ?? traceContext.get();
    if (!parent) {
      this.contextMissing('startSubsegment');
      return undefined;
    }
    if (!parent.segment.isSampled) return undefined;
    return new Subsegment(name, parent, options);
  }

  /**
   * Calls `fn(entity)` with `entity` as the current entity, then closes `entity` when it returns or
   * settles, recording an error (rethrown unchanged). When `leaveOpen(result)` is true the entity stays
   * open for the caller to close (an Observable's work starts at subscription). @internal
   */
  runSettled<T, E extends Segment | Subsegment>(entity: E, fn: (entity: E) => T, leaveOpen?: (result: T) => boolean): T {
    let result: T;
    try {
      result = traceContext.runWithArg(entity, fn);
    } catch (error) {
      this.recordError(entity, error);
      entity.close();
      throw error;
    }
    if (leaveOpen?.(result)) return result;
    if (isPromiseLike(result)) {
      return (result as PromiseLike<unknown>).then(
        (value) => {
          entity.close();
          return value;
        },
        (error: unknown) => {
          this.recordError(entity, error);
          entity.close();
          throw error;
        },
      ) as T;
    }
    entity.close();
    return result;
  }

  /** Records an error on an entity, with the flag the classifier gives. */
  recordError(entity: Entity, error: unknown, options: AddErrorOptions = {}): void {
    if (!entity.segment.isSampled) return;
    let flag = options.flag;
    if (flag === undefined && this.classify) {
      try {
        flag = this.classify(error);
      } catch {
        flag = undefined;
      }
    }
    entity.addError(error, { ...options, flag });
  }

  /**
   * The current entity without the context-missing strategy: `undefined` when there is none (for
   * integrations that handle that case themselves).
   */
  activeEntity(): Entity | undefined {
    return this.on ? traceContext.get() : undefined;
  }

  /** The current entity: the innermost open subsegment, else the segment. */
  currentEntity(): Entity | undefined {
    if (!this.on) return undefined;
    const entity = traceContext.get();
    if (!entity) this.contextMissing('currentEntity');
    return entity;
  }

  /** The current segment. With none, the context-missing strategy applies. */
  currentSegment(): Segment | undefined {
    if (!this.on) return undefined;
    const entity = traceContext.get();
    if (!entity) {
      this.contextMissing('currentSegment');
      return undefined;
    }
    return entity.segment;
  }

  /** The innermost open subsegment, if the current entity is one. */
  currentSubsegment(): Subsegment | undefined {
    if (!this.on) return undefined;
    const entity = traceContext.get();
    if (!entity) {
      this.contextMissing('currentSubsegment');
      return undefined;
    }
    return entity instanceof Subsegment ? entity : undefined;
  }

  /** Adds an annotation to the current entity (see `Entity.putAnnotation`). */
  putAnnotation(key: string, value: AnnotationValue): void {
    const entity = this.currentEntity();
    if (entity?.segment.isSampled) entity.putAnnotation(key, value);
  }

  /** Adds metadata to the current entity (see `Entity.putMetadata`). */
  putMetadata(key: string, value: unknown, namespace?: string): void {
    const entity = this.currentEntity();
    if (entity?.segment.isSampled) entity.putMetadata(key, value, namespace);
  }

  /** Sets the user of the current segment. */
  setUser(user: string): void {
    const segment = this.currentSegment();
    if (segment?.isSampled) segment.setUser(user);
  }

  /** Records an error on the current entity. */
  addError(error: unknown, options?: AddErrorOptions): void {
    const entity = this.currentEntity();
    if (entity) this.recordError(entity, error, options);
  }

  /** Whether the current trace is sampled (`false` with no segment or tracing off). */
  isSampled(): boolean {
    if (!this.on) return false;
    return traceContext.get()?.segment.isSampled ?? false;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resolves when every document handed over so far has been sent. */
  async flush(): Promise<void> {
    await this.emitter?.flush();
  }

  /** Flushes and closes the emitter and stops the sampler. Tracing is off afterwards. */
  async shutdown(): Promise<void> {
    this.on = false;
    const emitter = this.emitter;
    const sampler = this.sampler;
    this.emitter = this.writer = this.sampler = undefined;
    await Promise.all([emitter?.shutdown(), sampler?.stop?.()]);
  }

  /** Counters: segments begun and sampled, documents written, sent and failed, problems by kind. */
  stats(): RecorderStats {
    const emitter = this.emitter as { stats?: () => EmitterStats } | undefined;
    return {
      segmentsStarted: this.started,
      segmentsSampled: this.sampledCount,
      writer: this.writer?.stats(),
      emitter: typeof emitter?.stats === 'function' ? emitter.stats() : undefined,
      problems: Object.fromEntries(diag.counts),
    };
  }

  // ---------------------------------------------------------------- internals

  private segmentName(host: string | undefined): string {
    const cfg = this.cfg!;
    if (cfg.dynamicNaming && host && wildcardMatch(cfg.dynamicNaming, host)) {
      return sanitizeName(host, cfg.tracingName);
    }
    return cfg.tracingName;
  }

  private createSegment(name: string | undefined, options: BeginSegmentOptions): Segment | undefined {
    if (!this.on) {
      if (!this.cfg) diag.warn('not_configured', 'The recorder was used before configure(); nothing is traced until it is configured.');
      return undefined;
    }
    const header =
      typeof options.traceHeader === 'string' ? TraceHeader.fromString(options.traceHeader) : options.traceHeader;
    const segmentName = name ?? this.cfg!.tracingName;
    return this.newSegment(segmentName, header, options.sampled, { ...options.samplingRequest, service: segmentName });
  }

  private newSegment(
    name: string,
    header: TraceHeader | undefined,
    forced: boolean | undefined,
    samplingRequest: SamplingRequest,
  ): Segment {
    const decision = forced ?? this.decide(header, samplingRequest);
    const continued = header !== undefined && header.hasValidRoot();
    const sampled = decision !== false;
    this.started++;
    if (sampled) this.sampledCount++;
    const segment = new Segment(name, {
      traceId: continued ? header.root : newTraceId(),
      parentId: continued && isValidEntityId(header.parent) ? header.parent : undefined,
      sampled,
      aws: typeof decision === 'string' ? this.awsForRule(decision) : this.aws,
      service: this.service,
      origin: this.origin,
      sink: this.writer,
      incomingHeader: header,
    });
    return segment;
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
    if (!this.cfg!.sampling) return true;
    try {
      return this.sampler!.shouldTrace(request);
    } catch (e) {
      diag.error('sampler_failed', `The sampler threw (${(e as Error).message}); the request is not sampled.`);
      return false;
    }
  }

  /** Applies the context-missing strategy for an operation that found no segment. */
  private contextMissing(operation: string): void {
    const strategy = this.cfg?.contextMissing ?? 'LOG_ERROR';
    const message = `${operation}: cannot find the current segment/subsegment, please make sure you have a segment open.`;
    if (typeof strategy === 'function') {
      diag.counts.set('context_missing', (diag.counts.get('context_missing') ?? 0) + 1);
      strategy(message);
      return;
    }
    switch (strategy) {
      case 'RUNTIME_ERROR':
        throw new SegmentNotFoundError(operation);
      case 'LOG_ERROR':
        diag.error(
          'context_missing',
          `${message} Outside a request, wrap the work in recorder.captureSegment(name, fn). (Logged once per operation; counted in recorder.stats().)`,
          operation,
        );
        return;
      case 'IGNORE_ERROR':
        diag.counts.set('context_missing', (diag.counts.get('context_missing') ?? 0) + 1);
    }
  }
}

function copyToAnnotations(segment: Segment, fields: object): void {
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') segment.putAnnotation(key, value);
  }
}

/** The process-wide recorder. Configure it once with `recorder.configure({...})`. */
export const recorder = new Recorder();
