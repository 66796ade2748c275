import { diag } from '../diag.js';
import type { Entity, Segment, SegmentSink, Subsegment } from '../entity.js';
import { MAX_DOCUMENT_BYTES } from './udp-emitter.js';
import type { SegmentEmitter } from './segment-emitter.js';

/** Settings of the writer. */
export interface DocumentWriterOptions {
  maxTraceBack: number;
  streamingThreshold: number;
  workingDirectory?: string;
  /** Largest document sent. @default MAX_DOCUMENT_BYTES */
  maxDocumentBytes?: number;
}

/** Counters of the writer. */
export interface WriterStats {
  segments: number;
  subsegmentsStreamed: number;
  split: number;
  trimmed: number;
}

/** The namespace of the metadata that marks a trimmed document. */
export const TRIM_MARKER_NAMESPACE = 'xrayjs';

type Doc = Record<string, unknown>;

/**
 * Turns closed segments into documents that each fit one datagram, and hands them to the emitter.
 *
 * - A segment goes out when it closes; subsegments still open go with it as in-progress and are sent
 *   again, alone and complete, when they close.
 * - Once a segment holds more than `streamingThreshold` subsegments, each time a subsegment closes the
 *   completed subtrees are sent as standalone subsegment documents and dropped from memory (the
 *   Python SDK's streaming).
 * - A document over the size limit is split: its largest child subtrees go out standalone until the
 *   rest fits; a single entity that is still too large is trimmed (metadata first, then the SQL text,
 *   exception details and annotations), with `metadata.xrayjs.trimmed` saying what was cut.
 *
 * @internal
 */
export class DocumentWriter implements SegmentSink {
  readonly maxTraceBack: number;
  readonly streamingThreshold: number;
  readonly workingDirectory: string;
  private readonly maxBytes: number;
  private readonly counters: WriterStats = { segments: 0, subsegmentsStreamed: 0, split: 0, trimmed: 0 };

  constructor(
    private readonly emitter: SegmentEmitter,
    options: DocumentWriterOptions,
  ) {
    this.maxTraceBack = options.maxTraceBack;
    this.streamingThreshold = options.streamingThreshold;
    this.workingDirectory = options.workingDirectory ?? process.cwd();
    this.maxBytes = options.maxDocumentBytes ?? MAX_DOCUMENT_BYTES;
  }

  stats(): WriterStats {
    return { ...this.counters };
  }

  segmentClosed(segment: Segment): void {
    segment.sent = true;
    this.guard(() => {
      this.counters.segments++;
      this.write(segment, undefined);
      // Completed subtrees are in the document now; keep only what is still open (usually nothing).
      const children = segment.subsegments;
      if (children !== undefined) segment.subsegments = children.some((s) => !s.closed) ? children.filter((s) => !s.closed) : undefined;
    });
  }

  subsegmentClosed(segment: Segment): void {
    if (segment.held <= this.streamingThreshold) return;
    this.guard(() => this.stream(segment, segment));
  }

  lateSubsegmentClosed(subsegment: Subsegment): void {
    this.guard(() => {
      subsegment.parent.removeChild(subsegment);
      this.write(subsegment, subsegment);
    });
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
        this.write(child, child);
      }
    }
    return entityComplete;
  }

  /** Sends an entity (a segment, or a subsegment alone), splitting and trimming to fit. */
  private write(entity: Entity, standalone: Subsegment | undefined): void {
    let json = standalone ? standalone.serialize(true) : (entity as Segment).serialize();
    if (this.fits(json)) {
      this.emitter.send(json);
      return;
    }
    const doc = standalone ? standalone.toStandaloneJSON() : (entity as Segment).toJSON();
    this.counters.split++;
    const children = doc.subsegments as Subsegment[] | undefined;
    if (children && children.length > 0) {
      // Move the largest child subtrees out until the rest fits.
      const sized = children.map((child) => ({ child, bytes: Buffer.byteLength(JSON.stringify(child)) }));
      sized.sort((a, b) => b.bytes - a.bytes);
      let bytes = Buffer.byteLength(json);
      const kept = new Set(children);
      for (const { child, bytes: childBytes } of sized) {
        if (bytes <= this.maxBytes) break;
        kept.delete(child);
        bytes -= childBytes + 1;
        entity.removeChild(child);
        if (child.closed) this.write(child, child);
        // An open child goes out later, alone, when it closes (its parent has been sent).
      }
      const rest = children.filter((c) => kept.has(c));
      if (rest.length > 0) doc.subsegments = rest;
      else delete doc.subsegments;
      json = JSON.stringify(doc);
      if (this.fits(json)) {
        this.emitter.send(json);
        return;
      }
    }
    this.emitter.send(this.trim(doc, json));
  }

  private fits(json: string): boolean {
    if (json.length > this.maxBytes) return false;
    if (json.length * 3 <= this.maxBytes) return true;
    return Buffer.byteLength(json) <= this.maxBytes;
  }

  /** Cuts a single document down to the limit, saying what was cut. */
  private trim(doc: Doc, json: string): string {
    this.counters.trimmed++;
    const originalBytes = Buffer.byteLength(json);
    const cut: string[] = [];
    const marker = (): Doc => ({ [TRIM_MARKER_NAMESPACE]: { trimmed: cut, original_bytes: originalBytes } });
    const steps: [string, () => boolean][] = [
      ['metadata', () => delete doc.metadata],
      ['sql.sanitized_query', () => trimSql(doc)],
      ['cause', () => trimCause(doc)],
      ['annotations', () => delete doc.annotations],
      ['http', () => delete doc.http],
      ['aws', () => delete doc.aws],
      ['subsegments', () => delete doc.subsegments],
    ];
    for (const [what, step] of steps) {
      if (doc[what.split('.')[0]] === undefined) continue;
      step();
      cut.push(what);
      doc.metadata = marker();
      const out = JSON.stringify(doc);
      if (this.fits(out)) {
        diag.warn('document_trimmed', `A document of ${originalBytes} bytes was over the ${this.maxBytes}-byte limit and was trimmed (${cut.join(', ')}); see metadata.xrayjs.`);
        return out;
      }
    }
    // Unreachable in practice: what is left is bounded (names <= 200 characters).
    const minimal: Doc = {};
    for (const key of ['name', 'id', 'trace_id', 'parent_id', 'type', 'start_time', 'end_time', 'in_progress', 'fault', 'error', 'throttle', 'namespace']) {
      if (doc[key] !== undefined) minimal[key] = doc[key];
    }
    cut.push('everything else');
    minimal.metadata = marker();
    return JSON.stringify(minimal);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      diag.error('write_failed', `Could not write a trace document: ${(e as Error).message}`);
    }
  }
}

function countSubtree(entity: Subsegment): number {
  let n = 1;
  if (entity.subsegments) for (const c of entity.subsegments) n += countSubtree(c);
  return n;
}

const SQL_KEEP = 4096;

function trimSql(doc: Doc): boolean {
  const sql = doc.sql as Record<string, unknown> | undefined;
  if (!sql || typeof sql.sanitized_query !== 'string') return false;
  doc.sql = { ...sql, sanitized_query: sql.sanitized_query.slice(0, SQL_KEEP) };
  return true;
}

function trimCause(doc: Doc): boolean {
  const cause = doc.cause;
  if (typeof cause !== 'object' || cause === null) return false;
  const c = cause as { working_directory?: string; exceptions?: Record<string, unknown>[] };
  doc.cause = {
    working_directory: c.working_directory,
    exceptions: (c.exceptions ?? []).slice(0, 1).map((e) => ({
      id: e.id,
      type: e.type,
      remote: e.remote,
      message: typeof e.message === 'string' ? e.message.slice(0, 1024) : undefined,
    })),
  };
  return true;
}
