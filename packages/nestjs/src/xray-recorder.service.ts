import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  activeEntity,
  ambientRecorder,
  type AddErrorOptions,
  type AnnotationValue,
  type BeginSegmentOptions,
  type Recorder,
  type RecorderStats,
  type ResolvedConfig,
  type Segment,
  type Subsegment,
  type SubsegmentOptions,
} from '@xrayjs/core';

import { XRAY_CORE_RECORDER } from './xray.internal-constants.js';

/**
 * The recorder, injectable: the current segment and subsegment, annotations, metadata, the user,
 * manual capture, and segments for work outside requests (start-up, cron jobs, queue consumers).
 *
 * Each application that imports `XRayModule.forRoot()` has its own recorder (its own settings,
 * emitter and counters), so two applications in one process do not share or stop each other's
 * tracing. Work inside a trace goes to the recorder of the segment it is in. In a library that
 * imports `XRayModule` without `forRoot()`, this is the recorder of the application that did.
 *
 * With tracing off (or in an unsampled request) the entity getters hand back no-op entities, so
 * code such as `xray.currentSegment()!.putAnnotation(...)` runs the same either way.
 *
 * @example constructor(private readonly xray: XRayRecorder) {}
 */
@Injectable()
export class XRayRecorder {
  constructor(@Optional() @Inject(XRAY_CORE_RECORDER) private readonly own?: Recorder | null) {}

  /**
   * The core recorder behind this service: the application's. (Imported without `forRoot()`: the
   * recorder of the current segment, else the most recently configured one.)
   */
  get recorder(): Recorder {
    return this.own ?? activeEntity()?.segment.recorder ?? ambientRecorder();
  }

  /** Whether tracing is on. */
  get enabled(): boolean {
    return this.recorder.enabled;
  }

  /** The resolved configuration. */
  get config(): ResolvedConfig | undefined {
    return this.recorder.config;
  }

  /** The current segment; a no-op one when tracing is off; with none, the context-missing strategy applies. */
  currentSegment(): Segment | undefined {
    return this.recorder.currentSegment();
  }

  /** The innermost open subsegment, if the current entity is one (a no-op one when nothing is recorded). */
  currentSubsegment(): Subsegment | undefined {
    return this.recorder.currentSubsegment();
  }

  /** The current segment or subsegment. */
  currentEntity(): Segment | Subsegment | undefined {
    return this.recorder.currentEntity();
  }

  /** Adds an annotation (indexed) to the current entity. */
  putAnnotation(key: string, value: AnnotationValue): void {
    this.recorder.putAnnotation(key, value);
  }

  /** Adds metadata (not indexed) to the current entity, under `namespace` (default `default`). */
  putMetadata(key: string, value: unknown, namespace?: string): void {
    this.recorder.putMetadata(key, value, namespace);
  }

  /** Sets the user of the current segment. */
  setUser(user: string): void {
    this.recorder.setUser(user);
  }

  /** Records an error on the current entity. */
  addError(error: unknown, options?: AddErrorOptions): void {
    this.recorder.addError(error, options);
  }

  /** Runs `fn` in a subsegment of the current entity; errors are recorded and rethrown (see `Recorder.capture`). */
  capture<T>(name: string, fn: (subsegment: Subsegment) => T, options?: SubsegmentOptions): T {
    return this.recorder.capture(name, fn, options);
  }

  /** Runs `fn` in a segment of its own (work outside requests); errors are recorded and rethrown. */
  captureSegment<T>(name: string | undefined, fn: (segment: Segment) => T, options?: BeginSegmentOptions): T {
    return this.recorder.captureSegment(name, fn, options);
  }

  /**
   * Begins a segment for work outside requests, without making it current: run work in it with
   * `runWith(segment, fn)` and close it with `endSegment(segment)`. Prefer `captureSegment()`.
   */
  beginSegment(name?: string, options?: BeginSegmentOptions): Segment {
    return this.recorder.beginSegment(name, options);
  }

  /** Closes `segment` (default: the current one). */
  endSegment(segment?: Segment, endTime?: number): void {
    this.recorder.endSegment(segment, endTime);
  }

  /** Begins a subsegment of the current entity without making it current; prefer `capture()`. */
  beginSubsegment(name: string, options?: SubsegmentOptions): Subsegment {
    return this.recorder.beginSubsegment(name, options);
  }

  /** Closes `subsegment` (default: the current one). */
  endSubsegment(subsegment?: Subsegment, endTime?: number): void {
    this.recorder.endSubsegment(subsegment, endTime);
  }

  /** Runs `fn` with `entity` current, for everything it does and starts. */
  runWith<T>(entity: Segment | Subsegment | undefined, fn: () => T): T {
    return this.recorder.runWith(entity, fn);
  }

  /** Whether the current trace is recorded. */
  isSampled(): boolean {
    return this.recorder.isSampled();
  }

  /** The `X-Amzn-Trace-Id` value for an outgoing call from the current entity. */
  downstreamHeader(): string | undefined {
    return this.recorder.downstreamHeader();
  }

  /** Counters: segments, documents sent and failed, internal problems by kind. */
  stats(): RecorderStats {
    return this.recorder.stats();
  }

  /** Waits until every document so far has been sent. */
  flush(): Promise<void> {
    return this.recorder.flush();
  }
}
