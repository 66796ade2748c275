import type { SegmentDocument } from './protocol.js';

/** A subsegment with everything nested in it, streamed parts included. */
export interface SubsegmentNode {
  doc: SegmentDocument;
  children: SubsegmentNode[];
}

/** A segment with its subsegment tree assembled. */
export interface SegmentNode {
  doc: SegmentDocument;
  children: SubsegmentNode[];
}

/** A summary row of the trace list. */
export interface TraceSummary {
  id: string;
  /** Epoch seconds of the earliest start. */
  start: number;
  /** Seconds from the earliest start to the latest end (in-progress parts count until now). */
  duration: number;
  service: string;
  method?: string;
  url?: string;
  status?: number;
  fault: boolean;
  error: boolean;
  throttle: boolean;
  inProgress: boolean;
  segments: number;
  services: string[];
  annotations: Record<string, string | number | boolean>;
  /** Documents kept for the trace. */
  documents: number;
  /** Documents of the trace not kept: it reached its limit of documents or bytes. */
  truncated: number;
  updated: number;
}

/** How deep the assembled tree of a trace goes; deeper parts hang under the ancestor at this depth. */
export const MAX_TREE_DEPTH = 256;

/** Every entity of a document, nested subsegments included, without recursion (a hostile document may nest thousands deep). */
function forEachEntity(doc: SegmentDocument, fn: (entity: SegmentDocument) => void): void {
  const stack: SegmentDocument[] = [doc];
  while (stack.length > 0) {
    const entity = stack.pop()!;
    fn(entity);
    const nested = entity.subsegments;
    if (Array.isArray(nested)) for (const child of nested as SegmentDocument[]) if (child !== null && typeof child === 'object') stack.push(child);
  }
}

/** What `Trace.add` did with a document. */
export type AddOutcome = 'kept' | 'stale' | 'truncated';

/** One trace as received so far. */
export class Trace {
  /** Documents by entity id: segments and subsegments sent on their own. The final one replaces an in-progress one. */
  readonly documents = new Map<string, SegmentDocument>();
  /** The size of each document as received (bytes of its datagram or line). */
  private readonly sizes = new Map<string, number>();
  /** Bytes of the documents kept. */
  bytes = 0;
  /** Documents not kept because the trace reached its limits. */
  truncated = 0;
  updated = 0;

  constructor(readonly id: string) {}

  /**
   * Keeps `doc` (of `bytes` bytes), unless it is a late in-progress copy of a finished document
   * (`stale`) or a new document past `maxDocuments` or `maxBytes` for this trace (`truncated`: counted,
   * and shown with the trace). A document that replaces one already kept is always taken.
   */
  add(doc: SegmentDocument, now: number, bytes: number, maxDocuments = Infinity, maxBytes = Infinity): AddOutcome {
    const old = this.documents.get(doc.id);
    // A late in-progress copy never replaces a finished document.
    if (old && old.in_progress === false && doc.in_progress === true) return 'stale';
    if (old === undefined && (this.documents.size >= maxDocuments || this.bytes + bytes > maxBytes)) {
      this.truncated++;
      this.updated = now;
      return 'truncated';
    }
    const oldBytes = old === undefined ? 0 : (this.sizes.get(doc.id) ?? 0);
    this.documents.set(doc.id, doc);
    this.sizes.set(doc.id, bytes);
    this.bytes += bytes - oldBytes;
    this.updated = now;
    return 'kept';
  }

  /**
   * Segments with their subsegment trees, streamed subsegments attached under their parents. Linear in
   * the number of entities and safe with hostile input: parts whose parent never arrived hang at the top
   * of the first segment, parents that name each other cannot loop, and nothing goes deeper than
   * `MAX_TREE_DEPTH` (what is deeper hangs under the ancestor at that depth).
   */
  assemble(): SegmentNode[] {
    const byId = new Map<string, SubsegmentNode>();
    const parentOf = new Map<SubsegmentNode, string>();
    const segments: SubsegmentNode[] = [];
    const register = (entity: SegmentDocument, parentId: string | undefined): SubsegmentNode => {
      const node: SubsegmentNode = { doc: strip(entity), children: [] };
      // The last copy of an id wins: documents sent alone come after the nested copies.
      byId.set(String(entity.id), node);
      if (parentId !== undefined) parentOf.set(node, parentId);
      return node;
    };
    const registerNested = (doc: SegmentDocument): void => {
      const stack: SegmentDocument[] = [doc];
      while (stack.length > 0) {
        const entity = stack.pop()!;
        const nested = entity.subsegments;
        if (!Array.isArray(nested)) continue;
        for (const child of nested as SegmentDocument[]) {
          if (child === null || typeof child !== 'object') continue;
          register(child, String(entity.id));
          stack.push(child);
        }
      }
    };
    const standalone: SegmentDocument[] = [];
    for (const doc of this.documents.values()) {
      if (doc.type === 'subsegment') standalone.push(doc);
      else {
        segments.push(register(doc, undefined));
        registerNested(doc);
      }
    }
    for (const doc of standalone) {
      register(doc, doc.parent_id === undefined ? undefined : String(doc.parent_id));
      registerNested(doc);
    }
    const kids = new Map<string, SubsegmentNode[]>();
    for (const node of byId.values()) {
      const parentId = parentOf.get(node);
      if (parentId === undefined) continue;
      let list = kids.get(parentId);
      if (list === undefined) kids.set(parentId, (list = []));
      list.push(node);
    }
    const placed = new Set<SubsegmentNode>();
    const grow = (root: SubsegmentNode, rootDepth: number): void => {
      placed.add(root);
      const queue: { node: SubsegmentNode; depth: number; anchor: SubsegmentNode }[] = [{ node: root, depth: rootDepth, anchor: root }];
      for (let i = 0; i < queue.length; i++) {
        const { node, depth, anchor } = queue[i];
        for (const child of kids.get(String(node.doc.id)) ?? []) {
          if (placed.has(child)) continue;
          placed.add(child);
          if (depth + 1 < MAX_TREE_DEPTH) {
            node.children.push(child);
            queue.push({ node: child, depth: depth + 1, anchor: child });
          } else {
            anchor.children.push(child);
            queue.push({ node: child, depth, anchor });
          }
        }
      }
    };
    for (const segment of segments) grow(segment, 0);
    // Parts whose parent has not arrived hang at the top of the first segment, with what is under them;
    // then parts that only name each other as parents.
    const rest: SubsegmentNode[] = [];
    for (const node of byId.values()) {
      if (placed.has(node)) continue;
      const parentId = parentOf.get(node);
      if (parentId !== undefined && byId.has(parentId)) continue;
      grow(node, 1);
      rest.push(node);
    }
    for (const node of byId.values()) {
      if (placed.has(node)) continue;
      grow(node, 1);
      rest.push(node);
    }
    const result: SegmentNode[] = segments;
    if (segments.length > 0) segments[0].children.push(...rest);
    else result.push(...rest);
    // Every list by start time, without recursion.
    const lists: SubsegmentNode[][] = [result];
    for (let i = 0; i < lists.length; i++) {
      lists[i].sort((a, b) => Number(a.doc.start_time) - Number(b.doc.start_time));
      for (const n of lists[i]) if (n.children.length > 0) lists.push(n.children);
    }
    return result;
  }

  /** Whether a subsegment of this trace calls the remote node `name` (namespace `remote`/`aws`, or with `sql`). */
  calls(name: string): boolean {
    for (const d of this.documents.values()) {
      let found = false;
      forEachEntity(d, (e) => {
        if (!found && e.name === name && (e.namespace === 'remote' || e.namespace === 'aws' || e.sql !== undefined)) found = true;
      });
      if (found) return true;
    }
    return false;
  }

  /** The services that sent a segment of this trace. */
  services(): string[] {
    const names = new Set<string>();
    for (const d of this.documents.values()) if (d.type !== 'subsegment') names.add(String(d.name));
    return [...names];
  }

  summary(): TraceSummary {
    const segments: SegmentDocument[] = [];
    let start = Infinity;
    let end = -Infinity;
    let inProgress = false;
    const nowSeconds = Date.now() / 1000;
    const ids = new Set<string>();
    const annotations: Record<string, string | number | boolean> = {};
    const flags = { fault: false, error: false, throttle: false };
    for (const d of this.documents.values()) {
      if (d.type !== 'subsegment') segments.push(d);
      // No spread of every start time into Math.min: a trace may hold thousands of documents.
      const s = Number(d.start_time);
      if (s < start) start = s;
      const e = typeof d.end_time === 'number' ? d.end_time : nowSeconds;
      if (e > end) end = e;
      if (d.in_progress === true) inProgress = true;
      forEachEntity(d, (entity) => {
        ids.add(String(entity.id));
        const a = entity.annotations;
        if (a !== null && typeof a === 'object') Object.assign(annotations, a);
        if (entity.fault === true) flags.fault = true;
        if (entity.error === true) flags.error = true;
        if (entity.throttle === true) flags.throttle = true;
      });
    }
    if (!Number.isFinite(start)) start = 0;
    if (!Number.isFinite(end)) end = start;
    // The root segment: the one whose parent is no entity of this trace (a downstream service's segment
    // has a nested subsegment of its caller as parent), or the earliest.
    const root = segments.find((s) => !s.parent_id || !ids.has(String(s.parent_id))) ?? segments[0] ?? (this.documents.values().next().value as SegmentDocument | undefined);
    const http = root?.http as { request?: { method?: string; url?: string }; response?: { status?: number } } | undefined;
    return {
      id: this.id,
      start,
      duration: Math.max(0, end - start),
      service: root ? String(root.name) : '?',
      method: http?.request?.method,
      url: http?.request?.url,
      status: http?.response?.status,
      fault: flags.fault,
      error: flags.error,
      throttle: flags.throttle,
      inProgress,
      segments: segments.length,
      services: this.services(),
      annotations,
      documents: this.documents.size,
      truncated: this.truncated,
      updated: this.updated,
    };
  }
}

/** A document without its nested subsegments (they become children). */
function strip(doc: SegmentDocument): SegmentDocument {
  if (doc.subsegments === undefined) return doc;
  const { subsegments: _nested, ...rest } = doc;
  return rest as SegmentDocument;
}

/** Filters of the trace list. */
export interface TraceQuery {
  service?: string;
  /** An exact status, or a class like `5xx`. */
  status?: string;
  /** Only traces with a fault, error or throttle. */
  errors?: boolean;
  /** Only traces with this flag: `fault` (5xx), `error` (4xx) or `throttle` (429). */
  flag?: 'fault' | 'error' | 'throttle';
  /** `key=value` of an annotation. */
  annotation?: string;
  /** Text found in the trace id, the URL or an annotation value (case-insensitive). */
  q?: string;
  /** Only traces at least this long (seconds), as the console's `responsetime > 0.5`. */
  minDuration?: number;
  /** Only traces at most this long (seconds). */
  maxDuration?: number;
  /** Only traces that call this remote node of the service map (a database, an AWS service, a host). */
  calls?: string;
  /** Epoch seconds. */
  from?: number;
  to?: number;
  limit?: number;
}

/** The bounds of the store. */
export interface TraceStoreLimits {
  /** Traces kept; past it the oldest are evicted. @default 1000 */
  maxTraces?: number;
  /** Bytes of documents kept over all traces (as received); past it the oldest traces are evicted. @default 64 MiB */
  maxBytes?: number;
  /** Documents kept per trace; the rest are counted as truncated. @default 10,000 */
  maxDocumentsPerTrace?: number;
}

/** The store's default bounds. */
export const DEFAULT_LIMITS: Required<TraceStoreLimits> = { maxTraces: 1000, maxBytes: 64 * 1024 * 1024, maxDocumentsPerTrace: 10_000 };

/**
 * All traces, bounded by count and by bytes (past either, the oldest traces are evicted and counted),
 * and each trace by documents and bytes (past either, its new documents are counted as truncated).
 */
export class TraceStore {
  /** In order of arrival (a Map keeps insertion order): the first is evicted first. */
  private readonly traces = new Map<string, Trace>();
  readonly limits: Required<TraceStoreLimits>;
  /** Bytes of the documents kept. */
  bytes = 0;
  evicted = 0;
  evictedBytes = 0;
  /** Documents not kept because their trace reached its limits. */
  truncated = 0;

  constructor(limits: number | TraceStoreLimits = {}) {
    const l = typeof limits === 'number' ? { maxTraces: limits } : limits;
    this.limits = {
      maxTraces: l.maxTraces ?? DEFAULT_LIMITS.maxTraces,
      maxBytes: l.maxBytes ?? DEFAULT_LIMITS.maxBytes,
      maxDocumentsPerTrace: l.maxDocumentsPerTrace ?? DEFAULT_LIMITS.maxDocumentsPerTrace,
    };
  }

  /** Adds a document of `bytes` bytes (its datagram; by default the length of its JSON); returns its trace. */
  add(doc: SegmentDocument, now = Date.now(), bytes?: number): Trace {
    const size = bytes ?? JSON.stringify(doc).length;
    const traceId = String(doc.trace_id);
    let trace = this.traces.get(traceId);
    if (!trace) {
      trace = new Trace(traceId);
      this.traces.set(traceId, trace);
    }
    const before = trace.bytes;
    // One trace may take the whole budget, never more.
    if (trace.add(doc, now, size, this.limits.maxDocumentsPerTrace, this.limits.maxBytes) === 'truncated') this.truncated++;
    this.bytes += trace.bytes - before;
    while (this.traces.size > this.limits.maxTraces || (this.bytes > this.limits.maxBytes && this.traces.size > 1)) {
      const [oldestId, oldest] = this.traces.entries().next().value as [string, Trace];
      if (oldest === trace) {
        // The trace just added to is also the oldest: it stays, the next oldest goes.
        this.traces.delete(oldestId);
        this.traces.set(oldestId, oldest);
        continue;
      }
      this.traces.delete(oldestId);
      this.bytes -= oldest.bytes;
      this.evicted++;
      this.evictedBytes += oldest.bytes;
    }
    return trace;
  }

  get(id: string): Trace | undefined {
    return this.traces.get(id);
  }

  get size(): number {
    return this.traces.size;
  }

  all(): Trace[] {
    return [...this.traces.values()];
  }

  clear(): void {
    this.traces.clear();
    this.bytes = 0;
  }

  /** Trace summaries, newest first, filtered. */
  query(q: TraceQuery = {}): TraceSummary[] {
    const [annKey, annValue] = q.annotation ? splitOnce(q.annotation, '=') : [undefined, undefined];
    const out: TraceSummary[] = [];
    const search = q.q ? q.q.toLowerCase() : undefined;
    for (const trace of [...this.traces.values()].reverse()) {
      const s = trace.summary();
      if (q.service && !s.services.includes(q.service)) continue;
      if (q.status) {
        const status = String(s.status ?? '');
        if (/^[1-5]xx$/i.test(q.status) ? status[0] !== q.status[0] : status !== q.status) continue;
      }
      if (q.errors && !(s.fault || s.error || s.throttle)) continue;
      if (q.flag !== undefined && !s[q.flag]) continue;
      if (annKey !== undefined && (!(annKey in s.annotations) || (annValue !== undefined && String(s.annotations[annKey]) !== annValue))) continue;
      if (q.minDuration !== undefined && s.duration < q.minDuration) continue;
      if (q.maxDuration !== undefined && s.duration > q.maxDuration) continue;
      if (search !== undefined && !s.id.toLowerCase().includes(search) && !(s.url ?? '').toLowerCase().includes(search) && !Object.values(s.annotations).some((v) => String(v).toLowerCase().includes(search))) continue;
      if (q.from !== undefined && s.start < q.from) continue;
      if (q.to !== undefined && s.start > q.to) continue;
      out.push(s);
      if (q.limit !== undefined && out.length >= q.limit) break;
    }
    return out;
  }
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const i = text.indexOf(sep);
  return i === -1 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}
