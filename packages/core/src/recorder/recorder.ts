import { resolveConfig, type ResolvedConfig, type XRayOptions } from '../config/config.js';
import { traceContext, type TraceEntity } from '../context/trace-context.js';
import { describeValue, diag } from '../diag.js';
import type { EmitterStats, SegmentEmitter } from '../emitting/segment-emitter.js';
import { UdpEmitter } from '../emitting/udp-emitter.js';
import type { AnnotationValue, HttpRequestData, HttpResponseData } from '../model/document-fields.js';
import type { AddErrorOptions, Entity } from '../model/entity.js';
import { isNoop, NOOP_SEGMENT, NOOP_SUBSEGMENT } from '../model/noop.js';
import { Segment } from '../model/segment.js';
import type { ErrorFlag } from '../model/status-flag.js';
import { Subsegment } from '../model/subsegment.js';
import type { InstrumentationName } from '../instrumentation/instrumentation.js';
import { instrumentations } from '../instrumentation/registry.js';
import { runPlugins } from '../plugins/plugins.js';
import { DocumentWriter, type WriterStats } from '../processing/document-writer.js';
import { TraceHeader } from '../propagation/trace-header.js';
import { LocalSampler } from '../sampling/local-sampler.js';
import type { Sampler, SamplingRequest } from '../sampling/sampler.js';
import { CentralizedSampler } from '../sampling/centralized/centralized-sampler.js';
import { contextMissing } from './context-missing.js';
import { SegmentFactory } from './segment-factory.js';
import { runSettled } from './settle.js';

/** What the web layer knows about an incoming request. */
export interface IncomingRequest {
  /** The `X-Amzn-Trace-Id` header value. */
  traceHeader?: string | string[];
  /** The host the request was sent to: the Host header, or `:authority` under HTTP/2 (dynamic naming, sampling rules). */
  host?: string;
  method?: string;
  /** Path without query string (sampling rules). */
  path?: string;
  /** The request headers by lower-case name (centralized rules' `Attributes`). */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
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
  /** The entity to begin it under. @default the current entity */
  parent?: Segment | Subsegment;
}

/** Counters of the recorder. */
export interface RecorderStats {
  segmentsStarted: number;
  segmentsSampled: number;
  writer: WriterStats | undefined;
  emitter: EmitterStats | undefined;
  /** Problems of the library itself by kind (each kind is logged once); process-wide. */
  problems: Record<string, number>;
  /** The sampler's own report (the centralized sampler: mode, rules, polls, switches). */
  sampler: unknown;
}

/** Decides which flag an error sets (the NestJS package maps HTTP exceptions). */
export type ErrorClassifier = (error: unknown) => ErrorFlag | undefined;

const NO_INSTRUMENTATIONS: ReadonlySet<InstrumentationName> = new Set();

/**
 * Recorders that are configured and not shut down, most recent last: the one work outside any trace
 * falls back to (a decorated method at start-up). Process-wide, like the async context.
 * @internal
 */
const liveRecorders: Recorder[] = ((globalThis as Record<symbol, unknown>)[Symbol.for('xrayjs.live-recorders')] ??= []) as Recorder[];

/**
 * The recorder: configuration, sampling, the segments it makes, and the way their documents leave.
 *
 * `recorder` is the process-wide instance for plain Node programs; the NestJS module makes one per
 * application, so that two applications in one process (e2e suites, hybrid apps) keep their own
 * settings and documents. Work inside a trace always goes to the recorder whose segment it is in.
 *
 * Making an entity current is always scoped to a function (`capture`, `captureSegment`, `runWith`):
 * `beginSegment` and `beginSubsegment` return an entity without making it current, so it can never
 * stay current after the work it stands for (OpenTelemetry's `startSpan` vs `startActiveSpan`).
 *
 * No method throws into the application, except the context-missing strategy `RUNTIME_ERROR` (on
 * purpose) and errors of the caller's own function, which come back unchanged.
 */
export class Recorder {
  private cfg: ResolvedConfig | undefined;
  private on = false;
  private writer: DocumentWriter | undefined;
  private emitter: SegmentEmitter | undefined;
  private sampler: Sampler | undefined;
  private factory: SegmentFactory | undefined;
  private pending: Promise<void> = Promise.resolve();
  private classify: ErrorClassifier | undefined;
  private instrumented: ReadonlySet<InstrumentationName> = NO_INSTRUMENTATIONS;
  private started = 0;
  private sampledCount = 0;
  /** `recordError` bound once (the settle helpers call it). */
  private readonly onError = (entity: TraceEntity, error: unknown): void => this.recordError(entity, error);

  /**
   * Applies a configuration (see {@link XRayOptions}); environment variables win over it. Throws an
   * `XRayConfigError` that names every bad key and its fix. Calling it again replaces the previous
   * configuration of this recorder (segments already begun finish with the old one).
   */
  configure(options: XRayOptions = {}): this {
    const cfg = resolveConfig(options);
    this.stopCurrent(cfg);
    this.cfg = cfg;
    diag.setLogger(cfg.logger);
    this.on = cfg.enabled;
    const live = liveRecorders.indexOf(this);
    if (live !== -1) liveRecorders.splice(live, 1);
    liveRecorders.push(this);
    instrumentations.release(this);
    this.instrumented = NO_INSTRUMENTATIONS;
    if (!cfg.enabled) {
      this.pending = Promise.resolve();
      return this;
    }
    const emitter = cfg.emitter ?? new UdpEmitter(cfg.daemonAddress.udp, { addressText: cfg.daemonAddressText });
    const writer = new DocumentWriter(emitter, { streamingThreshold: cfg.streamingThreshold });
    const sampler: Sampler = makeSampler(cfg);
    const factory = new SegmentFactory(cfg, sampler, writer, this);
    this.emitter = emitter;
    this.writer = writer;
    this.sampler = sampler;
    this.factory = factory;
    try {
      sampler.start?.();
    } catch (e) {
      diag.error('sampler_start_failed', `The sampler did not start: ${describeValue(e)}`);
    }
    const tasks: Promise<void>[] = [];
    if (emitter instanceof UdpEmitter) tasks.push(emitter.start());
    this.instrumented = cfg.autoInstrument;
    if (cfg.autoInstrument.size > 0) tasks.push(instrumentations.acquire(this, cfg.autoInstrument));
    if (cfg.plugins.length > 0) {
      tasks.push(
        runPlugins(cfg.plugins, {
          ec2MetadataEndpoint: cfg.ec2MetadataEndpoint,
          elasticBeanstalkConfigPath: cfg.elasticBeanstalkConfigPath,
        }).then((result) => {
          if (this.factory === factory) factory.setPluginData(result);
        }),
      );
    }
    this.pending = Promise.all(tasks).then(() => undefined);
    this.pending.catch(() => {}); // reported by ready()
    return this;
  }

  /**
   * Resolves when start-up work is done (the daemon host looked up once, plugins run). A daemon host
   * that does not resolve yet does not fail it: the emitter keeps trying in the background and counts
   * what it drops meanwhile. Rejects with an `XRayConfigError` only for an address that can never work.
   * Segments begun before it resolves carry no plugin data.
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

  /** Most stack frames per recorded exception. @internal */
  get maxTraceBack(): number {
    return this.cfg?.maxTraceBack ?? 10;
  }

  /** The directory stack paths are written relative to. @internal */
  get workingDirectory(): string {
    return process.cwd();
  }

  /** Whether this recorder records the calls of `instrumentation` (`AUTO_INSTRUMENT`). @internal */
  instruments(instrumentation: InstrumentationName): boolean {
    return this.instrumented.has(instrumentation);
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
    const factory = this.factory;
    if (!this.on || factory === undefined) return undefined;
    try {
      const header = SegmentFactory.header(request.traceHeader);
      const host = typeof request.host === 'string' ? request.host : undefined;
      const name = factory.nameFor(host);
      return this.count(
        factory.create(name, header, request.sampled, {
          host,
          method: request.method,
          path: request.path,
          service: name,
          serviceType: factory.origin,
          resourceArn: this.cfg?.resourceArn,
          headers: request.headers,
        }),
      );
    } catch (e) {
      diag.error('begin_failed', `Could not begin a request segment: ${describeValue(e)}`);
      return undefined;
    }
  }

  /**
   * Records the request of a request segment (`http.request`); ignored for an unsampled segment. A web
   * integration can check `segment.sampled` first, so that unsampled requests cost no URL building.
   */
  setRequest(segment: Segment, request: HttpRequestData): void {
    if (!isSegment(segment) || !segment.isSampled) return;
    segment.setHttpRequest(request);
    if (this.cfg?.urlsAsAnnotations && segment.httpRequest) copyToAnnotations(segment, segment.httpRequest);
  }

  /** Records the response of a request segment (status flags, content length). */
  setResponse(segment: Segment, response: HttpResponseData): void {
    if (!isSegment(segment) || !segment.isSampled) return;
    segment.setHttpResponse(response);
    if (this.cfg?.urlsAsAnnotations && segment.httpResponse) copyToAnnotations(segment, segment.httpResponse);
  }

  /**
   * The `X-Amzn-Trace-Id` of the response, as the Python SDK writes it: `Root=<trace id>`, plus
   * `;Sampled=<1|0>` when the caller asked the callee to decide (`Sampled=?`).
   */
  responseTraceHeader(segment: Segment): string {
    if (!isSegment(segment)) return '';
    return segment.incomingHeader?.sampled === '?'
      ? `Root=${segment.trace_id};Sampled=${segment.isSampled ? '1' : '0'}`
      : `Root=${segment.trace_id}`;
  }

  /**
   * The `X-Amzn-Trace-Id` for an outgoing call made from `entity` (default: the current entity):
   * `Root=…;Parent=<entity id>;Sampled=<1|0>`, then the extra pairs of the incoming header (plain
   * tokens only). An unsampled trace always propagates `Sampled=0`. `undefined` outside a trace.
   */
  downstreamHeader(entity: Entity | undefined = traceContext.get()): string | undefined {
    if (!isEntity(entity) || isNoop(entity)) return undefined;
    try {
      const segment = entity.segment;
      return new TraceHeader({
        root: segment.trace_id,
        parent: entity.id,
        sampled: segment.isSampled ? '1' : '0',
        extra: segment.incomingHeader?.extra,
      }).toString();
    } catch {
      return undefined;
    }
  }

  /**
   * Runs `fn` with `entity` as the current entity, for everything `fn` does and starts. `undefined`
   * runs it outside any trace; a no-op entity runs it where it is.
   */
  runWith<T>(entity: Segment | Subsegment | undefined, fn: () => T): T {
    if (entity === undefined) return traceContext.run(undefined, fn);
    if (!isEntity(entity)) {
      diag.warn('run_with_invalid', `runWith() got ${describeValue(entity)} instead of a segment or subsegment; the function runs where it is.`);
      return fn();
    }
    if (isNoop(entity)) return fn();
    return traceContext.run(entity, fn);
  }

  // ---------------------------------------------------------------- manual API

  /**
   * Begins a segment for work outside a request (start-up, jobs, consumers), without making it
   * current: run work in it with {@link Recorder.runWith}, close it with `segment.close()` or
   * {@link Recorder.endSegment}. Prefer {@link Recorder.captureSegment}, which does all three. With
   * tracing off it returns a no-op segment.
   */
  beginSegment(name?: string, options: BeginSegmentOptions = {}): Segment {
    return this.createSegment(name, options) ?? NOOP_SEGMENT;
  }

  /** Closes `segment` (default: the current segment) and sends it. Does not change the current entity. */
  endSegment(segment?: Segment, endTime?: number): void {
    if (!this.on) return;
    const target = segment ?? traceContext.get()?.segment;
    if (target === undefined) {
      this.contextMissing('endSegment');
      return;
    }
    if (isSegment(target)) target.close(endTime);
  }

  /**
   * Runs `fn` in a new segment of its own, closed when `fn`'s work is over (see `capture` for what that
   * means for promises, thenables and generators); an error is recorded and rethrown unchanged.
   */
  captureSegment<T>(name: string | undefined, fn: (segment: Segment) => T, options: BeginSegmentOptions = {}): T {
    const segment = this.createSegment(name, options);
    if (segment === undefined) return fn(NOOP_SEGMENT);
    return runSettled(segment, fn, this.onError);
  }

  /**
   * Begins a subsegment under the current entity (or `options.parent`) without making it current: run
   * work in it with {@link Recorder.runWith}, close it with `subsegment.close()` or
   * {@link Recorder.endSubsegment}. With no segment, the context-missing strategy applies. When nothing
   * is recorded (tracing off, an unsampled trace, no segment) it returns a no-op subsegment.
   */
  beginSubsegment(name: string, options: SubsegmentOptions = {}): Subsegment {
    if (!this.on) {
      if (this.cfg === undefined) this.warnNotConfigured();
      return NOOP_SUBSEGMENT;
    }
    return this.openSubsegment('beginSubsegment', name, options) ?? NOOP_SUBSEGMENT;
  }

  /** Closes `subsegment` (default: the current subsegment). Does not change the current entity. */
  endSubsegment(subsegment?: Subsegment, endTime?: number): void {
    if (!this.on) return;
    const target = subsegment ?? traceContext.get();
    if (target === undefined) {
      this.contextMissing('endSubsegment');
      return;
    }
    if (isEntity(target) && target instanceof Subsegment) target.close(endTime);
  }

  /**
   * Runs `fn` in a new subsegment of the current entity (or `options.parent`): nested calls become its
   * children, concurrent calls siblings. The subsegment closes when the work is over: at once for a
   * plain value, when a Promise settles, when a thenable that `fn` returned settles after someone
   * awaits it (it comes back as the very object), and when a generator finishes. An error is recorded
   * and rethrown unchanged. With no segment, the context-missing strategy applies and `fn` still runs
   * (unless it is `RUNTIME_ERROR`); `fn` gets a no-op subsegment when nothing is recorded.
   *
   * @example await recorder.capture('loadOrders', () => repo.find())
   */
  capture<T>(name: string, fn: (subsegment: Subsegment) => T, options: SubsegmentOptions = {}): T {
    if (!this.on) {
      if (this.cfg === undefined) this.warnNotConfigured();
      return fn(NOOP_SUBSEGMENT);
    }
    const sub = this.openSubsegment('capture', name, options);
    if (sub === undefined) return fn(NOOP_SUBSEGMENT);
    return runSettled(sub, fn, this.onError);
  }

  /**
   * Calls `fn(entity)` with `entity` as the current entity and closes `entity` when its work is over (as
   * `capture` does); with `leaveOpen(result)` true the entity stays open for the caller to close (an
   * Observable's work starts at subscription). @internal
   */
  runSettled<T, E extends Segment | Subsegment>(entity: E, fn: (entity: E) => T, leaveOpen?: (result: T) => boolean): T {
    return runSettled(entity, fn, this.onError, leaveOpen);
  }

  /** Records an error on an entity, with the flag `options` give, else the classifier's, else `fault`. */
  recordError(entity: Entity, error: unknown, options: AddErrorOptions = {}): void {
    try {
      if (!isEntity(entity) || !entity.segment.isSampled) return;
      const flag = options?.flag ?? (entity.segment.recorder ?? this).classifyError(error);
      entity.addError(error, { remote: options?.remote === true, flag });
    } catch (e) {
      diag.warn('record_error_failed', `An error could not be recorded: ${describeValue(e)}`);
    }
  }

  /** The flag the error classifier gives an error (`undefined`: the default, `fault`). @internal */
  classifyError(error: unknown): ErrorFlag | undefined {
    if (this.classify === undefined) return undefined;
    try {
      return this.classify(error);
    } catch {
      return undefined;
    }
  }

  /**
   * The current entity without the context-missing strategy: `undefined` when there is none (for
   * integrations that handle that case themselves).
   */
  activeEntity(): Segment | Subsegment | undefined {
    return this.on ? traceContext.get() : undefined;
  }

  /**
   * The current entity: the innermost open subsegment, else the segment. A no-op segment when tracing
   * is off; with no segment the context-missing strategy applies and it returns `undefined`.
   */
  currentEntity(): Segment | Subsegment | undefined {
    if (!this.on) return NOOP_SEGMENT;
    const entity = traceContext.get();
    if (entity === undefined) this.contextMissing('currentEntity');
    return entity;
  }

  /**
   * The current segment. A no-op segment when tracing is off (an unsampled request's own segment
   * records nothing either); with no segment the context-missing strategy applies and it returns
   * `undefined`.
   */
  currentSegment(): Segment | undefined {
    if (!this.on) return NOOP_SEGMENT;
    const entity = traceContext.get();
    if (entity === undefined) {
      this.contextMissing('currentSegment');
      return undefined;
    }
    return entity.segment;
  }

  /**
   * The innermost open subsegment, if the current entity is one; a no-op subsegment when tracing is off
   * or the trace is unsampled (where no subsegment is recorded), so that code that annotates it runs
   * the same either way.
   */
  currentSubsegment(): Subsegment | undefined {
    if (!this.on) return NOOP_SUBSEGMENT;
    const entity = traceContext.get();
    if (entity === undefined) {
      this.contextMissing('currentSubsegment');
      return undefined;
    }
    if (!entity.segment.isSampled) return NOOP_SUBSEGMENT;
    return entity instanceof Subsegment ? entity : undefined;
  }

  /** Adds an annotation to the current entity (see `Entity.putAnnotation`). */
  putAnnotation(key: string, value: AnnotationValue): void {
    this.currentEntity()?.putAnnotation(key, value);
  }

  /** Adds metadata to the current entity (see `Entity.putMetadata`). */
  putMetadata(key: string, value: unknown, namespace?: string): void {
    this.currentEntity()?.putMetadata(key, value, namespace);
  }

  /** Sets the user of the current segment. */
  setUser(user: string): void {
    this.currentSegment()?.setUser(user);
  }

  /** Records an error on the current entity. */
  addError(error: unknown, options?: AddErrorOptions): void {
    const entity = this.currentEntity();
    if (entity !== undefined) this.recordError(entity, error, options);
  }

  /** Whether the current trace is sampled (`false` with no segment or tracing off). */
  isSampled(): boolean {
    if (!this.on) return false;
    return traceContext.get()?.segment.isSampled ?? false;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resolves when every document handed over so far has been sent. */
  async flush(): Promise<void> {
    await this.emitter?.flush().catch(() => {});
  }

  /**
   * Flushes and closes the emitter and stops the sampler. This recorder is off afterwards (other
   * recorders of the process go on); segments still open are dropped, and counted, when they close.
   */
  async shutdown(): Promise<void> {
    this.on = false;
    instrumentations.release(this);
    this.instrumented = NO_INSTRUMENTATIONS;
    const live = liveRecorders.indexOf(this);
    if (live !== -1) liveRecorders.splice(live, 1);
    const emitter = this.emitter;
    const sampler = this.sampler;
    this.emitter = this.writer = this.sampler = this.factory = undefined;
    // The library's log goes to the logger of the recorder that is now the most recent live one.
    diag.setLogger(liveRecorders[liveRecorders.length - 1]?.config?.logger);
    await Promise.all([emitter?.shutdown().catch(() => {}), sampler ? stopSampler(sampler) : undefined]);
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
      sampler: this.samplerStats(),
    };
  }

  // ---------------------------------------------------------------- internals

  private samplerStats(): unknown {
    const sampler = this.sampler;
    if (sampler === undefined) return undefined;
    if (typeof sampler.stats !== 'function') return sampler instanceof LocalSampler ? { strategy: 'local' } : { strategy: 'custom' };
    try {
      return sampler.stats();
    } catch (e) {
      diag.error('sampler_stats_failed', `The sampler's stats() threw: ${describeValue(e)}`);
      return undefined;
    }
  }

  /** Lets go of the previous configuration's emitter (unless the new one reuses it) and sampler. */
  private stopCurrent(next: ResolvedConfig): void {
    const sampler = this.sampler;
    const emitter = this.emitter;
    // Stopped now, not later: a sampler given again by a configuration in the same turn is started
    // after this, and must not be stopped behind its back.
    if (sampler && sampler !== next.sampler) stopSampler(sampler);
    if (emitter && emitter !== next.emitter) void emitter.shutdown().catch(() => {});
    this.emitter = this.writer = this.sampler = this.factory = undefined;
  }

  private count(segment: Segment): Segment {
    this.started++;
    if (segment.isSampled) this.sampledCount++;
    return segment;
  }

  /**
   * A new subsegment under `options.parent` or the current entity; `undefined` when nothing is to be
   * recorded (no segment: the context-missing strategy applies first; an unsampled trace; bad options).
   */
  private openSubsegment(operation: string, name: string, options: SubsegmentOptions | undefined): Subsegment | undefined {
    let parent: Entity | undefined;
    let namespace: unknown;
    try {
      parent = options?.parent ?? traceContext.get();
      namespace = options?.namespace;
    } catch (e) {
      diag.warn('options_invalid', `${operation}(): its options could not be read (${describeValue(e)}); nothing is recorded.`);
      return undefined;
    }
    if (parent === undefined) {
      this.contextMissing(operation);
      return undefined;
    }
    if (!isEntity(parent) || isNoop(parent) || !parent.segment.isSampled) return undefined;
    return new Subsegment(name, parent, { namespace: typeof namespace === 'string' ? namespace : undefined });
  }

  private createSegment(name: string | undefined, options: BeginSegmentOptions): Segment | undefined {
    const factory = this.factory;
    if (!this.on || factory === undefined) {
      if (this.cfg === undefined) this.warnNotConfigured();
      return undefined;
    }
    try {
      const header = SegmentFactory.header(options?.traceHeader);
      const segmentName = typeof name === 'string' && name.length > 0 ? name : this.cfg!.tracingName;
      const request = options?.samplingRequest;
      // A literal, not a spread of `request` plus a key: that would take V8's slow path on every segment.
      // Every field the caller gave is kept; the origin (plugins) and RESOURCE_ARN fill what it left out.
      const sampling: SamplingRequest = {
        host: request?.host,
        method: request?.method,
        path: request?.path,
        service: segmentName,
        serviceType: request?.serviceType ?? factory.origin,
        resourceArn: request?.resourceArn ?? this.cfg?.resourceArn,
        attributes: request?.attributes,
        headers: request?.headers,
      };
      return this.count(factory.create(segmentName, header, typeof options?.sampled === 'boolean' ? options.sampled : undefined, sampling));
    } catch (e) {
      diag.error('begin_failed', `Could not begin a segment: ${describeValue(e)}`);
      return undefined;
    }
  }

  /** Said once per process: tracing was asked for, and nothing configured a recorder. */
  private warnNotConfigured(): void {
    diag.warn(
      'not_configured',
      'Tracing was used (@Subsegment(), capture() or captureSegment()), but no recorder is configured, so nothing is traced: ' +
        "import XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'my-service' }) in the application's root module (NestJS), " +
        'or call recorder.configure({...}) at start-up (plain Node).',
    );
  }

  /** Applies the context-missing strategy for an operation that found no segment. */
  private contextMissing(operation: string): void {
    contextMissing(this.cfg?.contextMissing ?? 'LOG_ERROR', operation);
  }
}

/** `instanceof`, which a revoked Proxy makes throw, never throwing. */
function isEntity(value: unknown): value is Segment | Subsegment {
  try {
    return value instanceof Segment || value instanceof Subsegment;
  } catch {
    return false;
  }
}

function isSegment(value: unknown): value is Segment {
  return isEntity(value) && value instanceof Segment;
}

function copyToAnnotations(segment: Segment, fields: object): void {
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') segment.putAnnotation(key, value);
  }
}

/** The process-wide recorder. Configure it once with `recorder.configure({...})`. */
export const recorder = new Recorder();

/**
 * The recorder that work with no current segment answers to: the most recently configured live one
 * (in a NestJS app, the app's), else the process-wide `recorder`. @internal
 */
export function ambientRecorder(): Recorder {
  return liveRecorders[liveRecorders.length - 1] ?? recorder;
}

/** The recorder of `entity`'s segment, else the ambient one. @internal */
export function recorderOf(entity: Entity | undefined): Recorder {
  return entity?.segment.recorder ?? ambientRecorder();
}


/** Stops a sampler; what its `stop()` throws or rejects with is logged, never thrown. */
function stopSampler(sampler: Sampler): Promise<void> {
  try {
    return Promise.resolve(sampler.stop?.()).catch((e: unknown) => diag.error('sampler_stop_failed', `The sampler did not stop: ${describeValue(e)}`));
  } catch (e) {
    diag.error('sampler_stop_failed', `The sampler did not stop: ${describeValue(e)}`);
    return Promise.resolve();
  }
}

/** The sampler a configuration asks for: the user's own, the local rules, or centralized with them as the fallback. */
function makeSampler(cfg: ResolvedConfig): Sampler {
  if (cfg.sampler !== undefined) return cfg.sampler;
  const local = new LocalSampler(cfg.samplingRules);
  if (cfg.samplerKind === 'local') return local;
  return new CentralizedSampler({ endpoint: cfg.daemonAddress.tcp, fallback: local });
}
