import { NOOP_ENTITY_ID, NOOP_TRACE_ID } from '../propagation/ids.js';
import { Segment } from './segment.js';
import { Subsegment } from './subsegment.js';

/** A segment that records nothing and is never sent; closing it does nothing. @internal */
class NoopSegment extends Segment {
  override close(): void {}
}

/** A subsegment that records nothing and is never sent; closing it does nothing. @internal */
class NoopSubsegment extends Subsegment {
  override close(): void {}
}

/**
 * What the recorder hands out when nothing is recorded (tracing disabled, or an unsampled trace), so
 * that code written against the API runs unchanged: every method works and changes nothing, as the
 * Python SDK's `DummySegment`. It carries the no-op ids; `sampled` is `false`.
 */
export const NOOP_SEGMENT: Segment = new NoopSegment('dummy', { sampled: false, traceId: NOOP_TRACE_ID, id: NOOP_ENTITY_ID });

/** The subsegment counterpart of {@link NOOP_SEGMENT}. */
export const NOOP_SUBSEGMENT: Subsegment = new NoopSubsegment('dummy', NOOP_SEGMENT);

/** Whether `entity` is one of the no-op entities. */
export function isNoop(entity: unknown): boolean {
  return entity === NOOP_SEGMENT || entity === NOOP_SUBSEGMENT;
}
