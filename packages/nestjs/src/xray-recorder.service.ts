import { Injectable } from '@nestjs/common';
import {
  recorder,
  type AddErrorOptions,
  type AnnotationValue,
  type BeginSegmentOptions,
  type Entity,
  type RecorderStats,
  type Segment,
  type Subsegment,
  type SubsegmentOptions,
} from '@xrayjs/core';

/**
 * The recorder, injectable: the current segment and subsegment, annotations, metadata, the user,
 * manual capture, and segments for work outside requests (start-up, cron jobs, queue consumers).
 * It is the DI face of `@xrayjs/core`'s process-wide `recorder`.
 *
 * @example constructor(private readonly xray: XRayRecorder) {}
 */
@Injectable()
export class XRayRecorder {
  /** The current segment; with none, the context-missing strategy applies. */
  currentSegment(): Segment | undefined {
    return recorder.currentSegment();
  }

  /** The innermost open subsegment, if the current entity is one. */
  currentSubsegment(): Subsegment | undefined {
    return recorder.currentSubsegment();
  }

  /** The current segment or subsegment. */
  currentEntity(): Entity | undefined {
    return recorder.currentEntity();
  }

  /** Adds an annotation (indexed) to the current entity. */
  putAnnotation(key: string, value: AnnotationValue): void {
    recorder.putAnnotation(key, value);
  }

  /** Adds metadata (not indexed) to the current entity, under `namespace` (default `default`). */
  putMetadata(key: string, value: unknown, namespace?: string): void {
    recorder.putMetadata(key, value, namespace);
  }

  /** Sets the user of the current segment. */
  setUser(user: string): void {
    recorder.setUser(user);
  }

  /** Records an error on the current entity. */
  addError(error: unknown, options?: AddErrorOptions): void {
    recorder.addError(error, options);
  }

  /** Runs `fn` in a subsegment of the current entity; errors are recorded and rethrown. */
  capture<T>(name: string, fn: (subsegment: Subsegment | undefined) => T, options?: SubsegmentOptions): T {
    return recorder.capture(name, fn, options);
  }

  /** Runs `fn` in a segment of its own (work outside requests); errors are recorded and rethrown. */
  captureSegment<T>(name: string | undefined, fn: (segment: Segment | undefined) => T, options?: BeginSegmentOptions): T {
    return recorder.captureSegment(name, fn, options);
  }

  /** Begins a segment for work outside requests; prefer `captureSegment()`. */
  beginSegment(name?: string, options?: BeginSegmentOptions): Segment | undefined {
    return recorder.beginSegment(name, options);
  }

  /** Ends the segment begun with `beginSegment()`. */
  endSegment(endTime?: number): void {
    recorder.endSegment(endTime);
  }

  /** Begins a subsegment (sequential code; prefer `capture()`). */
  beginSubsegment(name: string, options?: SubsegmentOptions): Subsegment | undefined {
    return recorder.beginSubsegment(name, options);
  }

  /** Ends the current subsegment. */
  endSubsegment(endTime?: number): void {
    recorder.endSubsegment(endTime);
  }

  /** Whether the current trace is recorded. */
  isSampled(): boolean {
    return recorder.isSampled();
  }

  /** The `X-Amzn-Trace-Id` value for an outgoing call from the current entity. */
  downstreamHeader(): string | undefined {
    return recorder.downstreamHeader();
  }

  /** Counters: segments, documents sent and failed, internal problems by kind. */
  stats(): RecorderStats {
    return recorder.stats();
  }

  /** Waits until every document so far has been sent. */
  flush(): Promise<void> {
    return recorder.flush();
  }
}
