import type { SegmentEmitter } from '@xrayjs/core';

/** A segment or subsegment document as captured (parsed JSON). */
export type CapturedDocument = Record<string, unknown> & {
  name: string;
  id: string;
  trace_id?: string;
  parent_id?: string;
  type?: string;
  start_time: number;
  end_time?: number;
  in_progress?: boolean;
  fault?: boolean;
  error?: boolean;
  throttle?: boolean;
  namespace?: string;
  http?: { request?: Record<string, unknown>; response?: { status?: number; content_length?: number } };
  annotations?: Record<string, string | number | boolean>;
  metadata?: Record<string, Record<string, unknown>>;
  subsegments?: CapturedDocument[];
};

/** Which segments to pick (every given field must match). */
export interface SegmentFilter {
  /** The route template (annotation `http_route`), for example `/orders/:id`. */
  route?: string;
  /** The segment name. */
  name?: string;
  /** The HTTP method of the request. */
  method?: string;
  /** The response status. */
  status?: number;
  /** Annotations the segment must have, with these values. */
  annotations?: Record<string, string | number | boolean>;
  /** The trace id. */
  traceId?: string;
}

/** Which subsegments to pick. */
export interface SubsegmentFilter {
  name?: string;
  namespace?: string;
  /** Only subsegments of this trace. */
  traceId?: string;
}

/** A subsegment found in the captured documents, with where it was. */
export type CapturedSubsegment = CapturedDocument & {
  /** The id of the entity it is under. */
  parentId: string;
  /** Its trace. */
  traceId: string;
};

function matchesSegment(doc: CapturedDocument, f: SegmentFilter): boolean {
  if (f.route !== undefined && doc.annotations?.http_route !== f.route) return false;
  if (f.name !== undefined && doc.name !== f.name) return false;
  if (f.method !== undefined && doc.http?.request?.method !== f.method) return false;
  if (f.status !== undefined && doc.http?.response?.status !== f.status) return false;
  if (f.traceId !== undefined && doc.trace_id !== f.traceId) return false;
  for (const [k, v] of Object.entries(f.annotations ?? {})) if (doc.annotations?.[k] !== v) return false;
  return true;
}

/**
 * Keeps the documents an application's recorder sends, in memory and parsed, with helpers to wait for
 * them and query them: the segments of a route, the subsegments by name (nested or sent alone), their
 * annotations. It is a `SegmentEmitter`; `captureXRay()` and `XRayTestingModule` put it in place of the
 * UDP emitter. Each test application gets its own, so two applications in one Jest worker never see
 * each other's documents.
 */
export class XRayCapture implements SegmentEmitter {
  /** Every document, in the order sent. */
  readonly documents: CapturedDocument[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  send(document: string): void {
    this.documents.push(JSON.parse(document) as CapturedDocument);
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** Forgets what was captured. */
  clear(): void {
    this.documents.length = 0;
  }

  /** The segment documents (not the subsegments sent alone), optionally filtered. */
  segments(filter: SegmentFilter = {}): CapturedDocument[] {
    return this.documents.filter((d) => d.type !== 'subsegment' && matchesSegment(d, filter));
  }

  /**
   * Every closed subsegment, nested in a segment or sent alone (a subsegment sent in progress and again
   * complete is listed once, complete), optionally filtered.
   */
  subsegments(filter: SubsegmentFilter = {}): CapturedSubsegment[] {
    const byId = new Map<string, CapturedSubsegment>();
    const walk = (doc: CapturedDocument, parentId: string, traceId: string) => {
      const found = { ...doc, parentId, traceId } as CapturedSubsegment;
      const seen = byId.get(doc.id);
      if (seen === undefined || (seen.in_progress && !doc.in_progress)) byId.set(doc.id, found);
      for (const child of doc.subsegments ?? []) walk(child, doc.id, traceId);
    };
    for (const doc of this.documents) {
      const traceId = doc.trace_id ?? '';
      if (doc.type === 'subsegment') walk(doc, doc.parent_id ?? '', traceId);
      else for (const child of doc.subsegments ?? []) walk(child, doc.id, traceId);
    }
    return [...byId.values()].filter(
      (s) => (filter.name === undefined || s.name === filter.name) && (filter.namespace === undefined || s.namespace === filter.namespace) && (filter.traceId === undefined || s.traceId === filter.traceId),
    );
  }

  /** The annotations of the segment that matches `filter` (the first one), `{}` when none matches. */
  annotations(filter: SegmentFilter = {}): Record<string, string | number | boolean> {
    return this.segments(filter)[0]?.annotations ?? {};
  }

  /**
   * Resolves with the segments that match `filter` once there are at least `count` of them (segments
   * are sent when the response has gone out, so a test waits for them). Rejects after `timeoutMs`
   * with what was captured.
   */
  waitForSegments(filter: SegmentFilter = {}, count = 1, timeoutMs = 2000): Promise<CapturedDocument[]> {
    return this.waitUntil(() => this.segments(filter).length >= count, timeoutMs, () => `${count} segment(s) matching ${JSON.stringify(filter)}`).then(() => this.segments(filter));
  }

  /** Resolves with the subsegments that match `filter` once there are at least `count` of them. */
  waitForSubsegments(filter: SubsegmentFilter = {}, count = 1, timeoutMs = 2000): Promise<CapturedSubsegment[]> {
    return this.waitUntil(() => this.subsegments(filter).length >= count, timeoutMs, () => `${count} subsegment(s) matching ${JSON.stringify(filter)}`).then(() => this.subsegments(filter));
  }

  private waitUntil(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const names = this.documents.map((d) => `${d.type === 'subsegment' ? 'subsegment' : 'segment'} ${d.name}`).join(', ') || 'nothing';
        reject(new Error(`XRayCapture: expected ${what()} within ${timeoutMs} ms; captured: ${names}`));
      }, timeoutMs);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }
}
