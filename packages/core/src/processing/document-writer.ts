import { describeValue, diag } from '../diag.js';
import { MAX_DOCUMENT_BYTES } from '../emitting/udp-emitter.js';
import type { SegmentEmitter } from '../emitting/segment-emitter.js';
import type { Entity } from '../model/entity.js';
import type { Segment } from '../model/segment.js';
import type { Subsegment } from '../model/subsegment.js';
import { fitsBytes, trimDocument } from './oversize.js';
import type { SegmentProcessor } from './segment-processor.js';

/** Settings of the writer. */
export interface DocumentWriterOptions {
  streamingThreshold: number;
  /** Largest document sent. @default MAX_DOCUMENT_BYTES */
  maxDocumentBytes?: number;
}

/** Counters of the writer. */
export interface WriterStats {
  /** Segment documents written. */
  segments: number;
  /** Completed subtrees sent alone while their segment was open (streaming). */
  subsegmentsStreamed: number;
  /** Subsegments sent alone because the document of their parent had left before they closed. */
  subsegmentsAfterParent: number;
  /** Documents over the size limit, split into several. */
  split: number;
  /** Single entities over the size limit, trimmed. */
  trimmed: number;
  /** Documents that could not be written (a bug; logged once). */
  failed: number;
}

/**
 * Owns what is pending of every sampled segment until it is sent, and turns it into documents that
 * each fit one datagram.
 *
 * - A subsegment is attached to its parent when it begins, unless the parent's document has already
 *   left closed (the parent is *final*): then it is kept apart and sent alone when it closes, with its
 *   parent's id. This covers work that outlives its parent (a timer or promise chain started inside a
 *   subsegment that closed, streamed or not).
 * - A segment goes out when it closes; subsegments still open go with it as in-progress and are sent
 *   again, alone and complete, when they close.
 * - Once a segment holds more than `streamingThreshold` subsegments, each time a subsegment closes the
 *   completed subtrees are sent as standalone documents and dropped (the Python SDK's streaming).
 * - A document over the size limit is split: its largest child subtrees go out standalone until the
 *   rest fits; a single entity still too large is trimmed (see `trimDocument`).
 *
 * A closed entity is in exactly one document; an entity sent while open is sent again when it closes.
 * @internal
 */
export class DocumentWriter implements SegmentProcessor {
  private readonly threshold: number;
  private readonly maxBytes: number;
  private readonly counters: WriterStats = { segments: 0, subsegmentsStreamed: 0, subsegmentsAfterParent: 0, split: 0, trimmed: 0, failed: 0 };

  constructor(
    private readonly emitter: SegmentEmitter,
    options: DocumentWriterOptions,
  ) {
    this.threshold = options.streamingThreshold;
    this.maxBytes = options.maxDocumentBytes ?? MAX_DOCUMENT_BYTES;
  }

  stats(): WriterStats {
    return { ...this.counters };
  }

  onStart(subsegment: Subsegment): void {
    const parent = subsegment.parent;
    // The parent's document has left: this one goes alone when it closes.
    if (parent.final) return;
    parent.addChild(subsegment);
    subsegment.segment.held++;
  }

  onDetach(subsegment: Subsegment): void {
    const parent = subsegment.parent;
    const list = parent.subsegments;
    if (list === undefined || !list.includes(subsegment)) return;
    parent.removeChild(subsegment);
    subsegment.segment.held--;
  }

  onEnd(entity: Segment | Subsegment): void {
    try {
      const segment = entity.segment;
      if (entity === segment) {
        this.counters.segments++;
        this.send(segment);
        return;
      }
      const subsegment = entity as Subsegment;
      if (subsegment.parent.final) {
        this.counters.subsegmentsAfterParent++;
        this.send(subsegment);
        return;
      }
      if (!segment.final && segment.held > this.threshold) this.stream(segment, segment);
    } catch (e) {
      this.counters.failed++;
      diag.error('write_failed', `Could not write a trace document: ${describeValue(e)}`);
    }
  }

  /** Writes a closed entity (a segment, or a subsegment alone) and marks what it carried final. */
  private send(root: Segment | Subsegment): void {
    this.write(root);
    markFinal(root);
  }

  /**
   * Sends every completed subtree under an entity that is not complete itself; returns whether the
   * entity's whole subtree is complete (then its parent decides).
   */
  private stream(entity: Entity, segment: Segment): boolean {
    const children = entity.subsegments;
    let allComplete = true;
    let complete: Subsegment[] | undefined;
    if (children) {
      for (const child of children) {
        if (this.stream(child, segment)) (complete ??= []).push(child);
        else allComplete = false;
      }
    }
    const entityComplete = allComplete && entity !== segment && entity.closed;
    if (!entityComplete && complete) {
      for (const child of complete) {
        entity.removeChild(child);
        segment.held -= countSubtree(child);
        this.counters.subsegmentsStreamed++;
        this.send(child);
      }
    }
    return entityComplete;
  }

  /** Sends one closed entity with what it holds, splitting and trimming to fit. */
  private write(root: Segment | Subsegment): void {
    const standalone = root !== root.segment;
    let json = root.serialize(standalone);
    if (fitsBytes(json, this.maxBytes)) {
      this.emitter.send(json);
      return;
    }
    this.counters.split++;
    const children = root.subsegments;
    if (children !== undefined && children.length > 0) {
      // Move the largest child subtrees out until the rest fits.
      const sized = children.map((child) => ({ child, bytes: Buffer.byteLength(child.serialize()) }));
      sized.sort((a, b) => b.bytes - a.bytes);
      let bytes = Buffer.byteLength(json);
      for (const { child, bytes: childBytes } of sized) {
        if (bytes <= this.maxBytes) break;
        bytes -= childBytes + 1;
        root.removeChild(child);
        // A closed child goes out now, alone; an open one when it closes (its parent will be final).
        if (child.closed) this.send(child);
      }
      json = root.serialize(standalone);
      if (fitsBytes(json, this.maxBytes)) {
        this.emitter.send(json);
        return;
      }
    }
    this.counters.trimmed++;
    this.emitter.send(trimDocument(json, this.maxBytes));
  }
}

/**
 * A document with `entity` closed has left: it and every closed entity it carried are final (a later
 * child goes alone), and the writer lets go of them. Open children stay open on their own and are
 * sent when they close.
 */
function markFinal(entity: Entity): void {
  entity.final = true;
  const list = entity.subsegments;
  if (list === undefined) return;
  entity.subsegments = undefined;
  for (const child of list) if (child.closed) markFinal(child);
}

function countSubtree(entity: Subsegment): number {
  let n = 1;
  if (entity.subsegments) for (const c of entity.subsegments) n += countSubtree(c);
  return n;
}
