import { performance } from 'node:perf_hooks';

import { wallAnchor } from '../clock.js';
import { describeValue, diag } from '../diag.js';
import { toJsonSafe } from '../json-safe.js';
import { sanitizeName, truncate } from '../names.js';
import type { SegmentProcessor } from '../processing/segment-processor.js';
import { newEntityId, newTraceId } from '../propagation/ids.js';
import type { TraceHeader } from '../propagation/trace-header.js';
import type { Recorder } from '../recorder/recorder.js';
import { Entity, isSafeKey, validTime } from './entity.js';
import { awsAndServiceText, entityHead, sharedJson, startTimeText } from './json-text.js';
import type { RecordedErrors } from './exception.js';

/** Options of a new segment. */
export interface SegmentInit {
  /** Continue this trace (a valid trace id); a new one is made otherwise. */
  traceId?: string;
  /** The caller's entity id. */
  parentId?: string;
  /** Whether the segment is recorded. @default true */
  sampled?: boolean;
  /** Start time in epoch seconds. @default now */
  startTime?: number;
  /** Known id (tests). */
  id?: string;
  /** Shared `aws` block (SDK name and version, plugin data). */
  aws?: Record<string, unknown>;
  /** Shared `service` block. */
  service?: Record<string, unknown>;
  /** `origin` from plugins. */
  origin?: string;
  /** The recorder the segment belongs to (settings, error classification). */
  recorder?: Recorder;
  /** Where its entities go when they begin and close. Without one, nothing is sent. */
  processor?: SegmentProcessor;
  /** The incoming header, whose extra pairs are propagated downstream. */
  incomingHeader?: TraceHeader;
}

/**
 * A segment: the work one service did for one request (or one job). Sent when it closes; subsegments
 * still open then go with it as in-progress and follow, alone, when they close.
 */
export class Segment extends Entity {
  readonly trace_id: string;
  parent_id: string | undefined;
  user: string | undefined = undefined;
  origin: string | undefined;
  aws: Record<string, unknown> | undefined;
  service: Record<string, unknown> | undefined;
  /** The recorder this segment belongs to. @internal */
  readonly recorder: Recorder | undefined;
  /** @internal */
  readonly processor: SegmentProcessor | undefined;
  /** @internal whether recorded */
  readonly isSampled: boolean;
  /** @internal the incoming trace header, for propagation of its extra pairs */
  readonly incomingHeader: TraceHeader | undefined;
  /** @internal subsegments held in the tree, all depths (the writer's count for streaming) */
  held = 0;
  /** @internal errors recorded by this segment's entities */
  recordedErrors: RecordedErrors | undefined = undefined;
  /**
   * Wall-clock milliseconds at monotonic time 0, taken when the segment began: every time of this
   * segment's entities is this anchor plus the monotonic clock, so durations never jump. @internal
   */
  readonly anchorMs: number;

  constructor(name: string, init: SegmentInit = {}) {
    const anchorMs = wallAnchor();
    super(sanitizeName(name, 'segment'), init.id ?? newEntityId(), validTime(init.startTime) ?? (anchorMs + performance.now()) / 1000);
    this.anchorMs = anchorMs;
    this.trace_id = init.traceId ?? newTraceId();
    this.parent_id = init.parentId;
    this.isSampled = init.sampled ?? true;
    this.aws = init.aws;
    this.service = init.service;
    this.origin = init.origin;
    this.recorder = init.recorder;
    this.processor = init.processor;
    this.incomingHeader = init.incomingHeader;
  }

  override get segment(): Segment {
    return this;
  }

  override get sampled(): boolean {
    return this.isSampled;
  }

  /** Now, in epoch seconds, on this segment's clock. @internal */
  now(): number {
    return (this.anchorMs + performance.now()) / 1000;
  }

  /** Sets the user the request was made for (indexed; at most 250 characters). */
  setUser(user: string): void {
    if (!this.isSampled) return;
    if (typeof user !== 'string' || user.length === 0) {
      diag.warn('user_invalid', 'setUser() ignored: the user must be a non-empty string.');
      return;
    }
    this.user = truncate(user, 250);
  }

  /** Adds a key to this segment's `aws` block (for example `sampling_rule_name` under `xray`). */
  setAwsField(key: string, value: unknown): void {
    if (!this.isSampled) return;
    if (typeof key !== 'string' || !isSafeKey(key)) {
      diag.warn('aws_key_invalid', `aws key ${describeValue(key)} dropped: it must be a string other than __proto__.`);
      return;
    }
    // The block is shared by every segment of the recorder: this segment gets its own copy.
    const aws: Record<string, unknown> = Object.assign({}, this.aws);
    aws[key] = toJsonSafe(value);
    this.aws = aws;
  }

  override serialize(): string {
    let s = `${entityHead(this.name, false)}${this.id}","trace_id":"${this.trace_id}${startTimeText.write(this.start_time)}`;
    if (this.parent_id !== undefined) s += `,"parent_id":"${this.parent_id}"`;
    s = this.serializeCommon(s);
    if (this.user !== undefined) s += `,"user":${JSON.stringify(this.user)}`;
    if (this.origin !== undefined) s += `,"origin":${JSON.stringify(this.origin)}`;
    // The blocks every segment of a recorder shares are serialized once, the pair as one piece.
    const aws = this.aws;
    const service = this.service;
    if (aws !== undefined && service !== undefined) s += awsAndServiceText(aws, service);
    else if (aws !== undefined) s += `,"aws":${sharedJson(aws)}`;
    else if (service !== undefined) s += `,"service":${sharedJson(service)}`;
    return this.serializeChildren(s, true);
  }
}
