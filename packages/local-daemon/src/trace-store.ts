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
  updated: number;
}

/** One trace as received so far. */
export class Trace {
  /** Documents by entity id: segments and subsegments sent on their own. The final one replaces an in-progress one. */
  readonly documents = new Map<string, SegmentDocument>();
  updated = 0;

  constructor(readonly id: string) {}

  add(doc: SegmentDocument, now: number): void {
    const old = this.documents.get(doc.id);
    // A late in-progress copy never replaces a finished document.
    if (old && old.in_progress === false && doc.in_progress === true) return;
    this.documents.set(doc.id, doc);
    this.updated = now;
  }

  /** Segments with their subsegment trees, streamed subsegments attached under their parents. */
  assemble(): SegmentNode[] {
    const nodes = new Map<string, { doc: SegmentDocument; children: SubsegmentNode[] }>();
    const visit = (doc: SegmentDocument): SubsegmentNode => {
      const node: SubsegmentNode = { doc: strip(doc), children: [] };
      nodes.set(doc.id, node);
      for (const child of (doc.subsegments as SegmentDocument[] | undefined) ?? []) node.children.push(visit(child));
      return node;
    };
    const segments: SegmentNode[] = [];
    const standalone: SegmentDocument[] = [];
    for (const doc of this.documents.values()) {
      if (doc.type === 'subsegment') standalone.push(doc);
      else segments.push(visit(doc));
    }
    // Streamed subsegments: attach under their parent; a nested in-progress copy gives way to the final one.
    const pending = [...standalone];
    let progress = true;
    while (pending.length > 0 && progress) {
      progress = false;
      for (let i = pending.length - 1; i >= 0; i--) {
        const doc = pending[i];
        const parent = nodes.get(doc.parent_id ?? '');
        if (!parent) continue;
        const existing = parent.children.findIndex((c) => c.doc.id === doc.id);
        const node = visit(doc);
        if (existing === -1) parent.children.push(node);
        else parent.children[existing] = node;
        pending.splice(i, 1);
        progress = true;
      }
    }
    // Parts whose parent has not arrived yet are shown at the top level of the first segment (or alone).
    for (const doc of pending) {
      const node = visit(doc);
      if (segments[0]) segments[0].children.push(node);
      else segments.push(node);
    }
    const sort = (list: SubsegmentNode[]) => {
      list.sort((a, b) => Number(a.doc.start_time) - Number(b.doc.start_time));
      for (const n of list) sort(n.children);
    };
    sort(segments);
    return segments;
  }

  /** The services that sent a segment of this trace. */
  services(): string[] {
    const names = new Set<string>();
    for (const d of this.documents.values()) if (d.type !== 'subsegment') names.add(String(d.name));
    return [...names];
  }

  summary(): TraceSummary {
    const segments = [...this.documents.values()].filter((d) => d.type !== 'subsegment');
    const all = [...this.documents.values()];
    const starts = all.map((d) => Number(d.start_time));
    const start = Math.min(...starts);
    const nowSeconds = Date.now() / 1000;
    const inProgress = all.some((d) => d.in_progress === true);
    const end = Math.max(...all.map((d) => (typeof d.end_time === 'number' ? d.end_time : nowSeconds)));
    // The root segment: the one whose parent is no entity of this trace (a downstream service's segment
    // has a nested subsegment of its caller as parent), or the earliest.
    const ids = new Set<string>();
    const note = (d: SegmentDocument): void => {
      ids.add(String(d.id));
      for (const s of (d.subsegments as SegmentDocument[] | undefined) ?? []) note(s);
    };
    for (const d of all) note(d);
    const root = segments.find((s) => !s.parent_id || !ids.has(String(s.parent_id))) ?? segments[0] ?? all[0];
    const http = root?.http as { request?: { method?: string; url?: string }; response?: { status?: number } } | undefined;
    const annotations: Record<string, string | number | boolean> = {};
    const collect = (d: SegmentDocument) => {
      Object.assign(annotations, (d.annotations as Record<string, string | number | boolean> | undefined) ?? {});
      for (const s of (d.subsegments as SegmentDocument[] | undefined) ?? []) collect(s);
    };
    for (const d of all) collect(d);
    const flag = (k: string) => all.some((d) => hasFlag(d, k));
    return {
      id: this.id,
      start,
      duration: Math.max(0, end - start),
      service: root ? String(root.name) : '?',
      method: http?.request?.method,
      url: http?.request?.url,
      status: http?.response?.status,
      fault: flag('fault'),
      error: flag('error'),
      throttle: flag('throttle'),
      inProgress,
      segments: segments.length,
      services: this.services(),
      annotations,
      updated: this.updated,
    };
  }
}

function hasFlag(doc: SegmentDocument, key: string): boolean {
  if (doc[key] === true) return true;
  return ((doc.subsegments as SegmentDocument[] | undefined) ?? []).some((s) => hasFlag(s, key));
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
  /** `key=value` of an annotation. */
  annotation?: string;
  /** Epoch seconds. */
  from?: number;
  to?: number;
  limit?: number;
}

/** All traces, bounded: past `maxTraces` the oldest are evicted. */
export class TraceStore {
  /** In order of arrival (a Map keeps insertion order): the first is evicted first. */
  private readonly traces = new Map<string, Trace>();
  evicted = 0;

  constructor(private readonly maxTraces = 1000) {}

  /** Adds a document; returns its trace. */
  add(doc: SegmentDocument, now = Date.now()): Trace {
    const traceId = String(doc.trace_id);
    let trace = this.traces.get(traceId);
    if (!trace) {
      trace = new Trace(traceId);
      this.traces.set(traceId, trace);
      while (this.traces.size > this.maxTraces) {
        const oldest = this.traces.keys().next().value as string;
        this.traces.delete(oldest);
        this.evicted++;
      }
    }
    trace.add(doc, now);
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
  }

  /** Trace summaries, newest first, filtered. */
  query(q: TraceQuery = {}): TraceSummary[] {
    const [annKey, annValue] = q.annotation ? splitOnce(q.annotation, '=') : [undefined, undefined];
    const out: TraceSummary[] = [];
    for (const trace of [...this.traces.values()].reverse()) {
      const s = trace.summary();
      if (q.service && !s.services.includes(q.service)) continue;
      if (q.status) {
        const status = String(s.status ?? '');
        if (/^[1-5]xx$/i.test(q.status) ? status[0] !== q.status[0] : status !== q.status) continue;
      }
      if (q.errors && !(s.fault || s.error || s.throttle)) continue;
      if (annKey !== undefined && (!(annKey in s.annotations) || (annValue !== undefined && String(s.annotations[annKey]) !== annValue))) continue;
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
