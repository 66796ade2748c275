import type { Segment } from '../model/segment.js';
import type { Subsegment } from '../model/subsegment.js';

/**
 * Where a sampled segment's entities go as they begin and close: the one owner of what is pending
 * until it is sent. Entities call it and never look at its state; an entity does not change after
 * the document that closes it has left.
 * @internal
 */
export interface SegmentProcessor {
  /** A subsegment begins (or is re-attached) under its parent. */
  onStart(subsegment: Subsegment): void;
  /** A subsegment begun earlier is taken out of its parent until it is re-attached. */
  onDetach(subsegment: Subsegment): void;
  /** A segment or subsegment closed. */
  onEnd(entity: Segment | Subsegment): void;
}
