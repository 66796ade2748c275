import type { SegmentDocument } from './protocol.js';
import type { Trace } from './trace-store.js';

/** A node of the service map: a traced service, or something it calls. */
export interface MapNode {
  id: string;
  name: string;
  type: 'client' | 'service' | 'remote' | 'database' | 'aws';
  requests: number;
  meanMs: number;
  errorRate: number;
}

/** A call from one node to another, with its statistics. */
export interface MapEdge {
  from: string;
  to: string;
  requests: number;
  meanMs: number;
  /** Calls with a fault, an error or a throttle. */
  errors: number;
  errorRate: number;
  /** Calls with a fault (5xx). */
  faults: number;
  faultRate: number;
  /** Calls throttled (429). */
  throttles: number;
}

/** The node of the callers outside the traces (the requests that start them), as the console's "Client". */
export const CLIENT_NODE = 'Client';

interface Acc {
  count: number;
  totalMs: number;
  errors: number;
  faults: number;
  throttles: number;
}

const durationMs = (d: SegmentDocument): number =>
  typeof d.end_time === 'number' ? (d.end_time - Number(d.start_time)) * 1000 : 0;
const failed = (d: SegmentDocument): boolean => d.fault === true || d.error === true || d.throttle === true;

function add(map: Map<string, Acc>, key: string, d: SegmentDocument): void {
  const acc = map.get(key) ?? { count: 0, totalMs: 0, errors: 0, faults: 0, throttles: 0 };
  acc.count++;
  acc.totalMs += durationMs(d);
  if (failed(d)) acc.errors++;
  if (d.fault === true) acc.faults++;
  if (d.throttle === true) acc.throttles++;
  map.set(key, acc);
}

function remoteTarget(sub: SegmentDocument): { name: string; type: MapNode['type'] } | undefined {
  const sql = sub.sql as { url?: string; database_type?: string } | undefined;
  if (sql) return { name: String(sub.name), type: 'database' };
  // A Redis command (xrayjs records `metadata.redis`): a data store too, not a generic remote call.
  const metadata = sub.metadata as { redis?: unknown } | undefined;
  if (sub.namespace === 'remote' && metadata?.redis !== undefined) return { name: String(sub.name), type: 'database' };
  if (sub.namespace === 'aws') return { name: String(sub.name), type: 'aws' };
  if (sub.namespace === 'remote') return { name: String(sub.name), type: 'remote' };
  return undefined;
}

/**
 * The service map of a set of traces, as the X-Ray console draws it: one node per service (segment
 * name) and per remote thing its subsegments call (namespace `remote`/`aws`, or with `sql`), one edge
 * per caller and callee. A downstream segment whose `parent_id` is a caller's subsegment becomes an
 * edge to that service instead of to a remote node.
 */
export function buildServiceMap(traces: Trace[]): { nodes: MapNode[]; edges: MapEdge[] } {
  const nodeStats = new Map<string, Acc>();
  const nodeTypes = new Map<string, MapNode['type']>();
  const edgeStats = new Map<string, Acc>();
  for (const trace of traces) {
    // Every subsegment of the trace (nested or streamed alone), with its parent's id.
    const parentOf = new Map<string, string>();
    const subsegments = new Map<string, SegmentDocument>();
    const segments: SegmentDocument[] = [];
    const walk = (doc: SegmentDocument) => {
      for (const s of (doc.subsegments as SegmentDocument[] | undefined) ?? []) {
        parentOf.set(s.id, doc.id);
        subsegments.set(s.id, s);
        walk(s);
      }
    };
    for (const d of trace.documents.values()) {
      if (d.type === 'subsegment') {
        parentOf.set(d.id, String(d.parent_id ?? ''));
        subsegments.set(d.id, d);
      } else segments.push(d);
      walk(d);
    }
    const segmentName = new Map(segments.map((d) => [d.id, String(d.name)]));
    const serviceOf = (id: string): string => {
      let current = id;
      for (let hops = 0; hops < 1000; hops++) {
        const name = segmentName.get(current);
        if (name !== undefined) return name;
        const up = parentOf.get(current);
        if (up === undefined) break;
        current = up;
      }
      return '?';
    };
    const owner = new Map([...subsegments].map(([id, doc]) => [id, { service: serviceOf(id), doc }]));
    const linked = new Set<string>();
    for (const seg of segments) {
      const name = String(seg.name);
      nodeTypes.set(name, 'service');
      add(nodeStats, name, seg);
      const caller = seg.parent_id ? owner.get(String(seg.parent_id)) : undefined;
      if (caller) {
        linked.add(String(seg.parent_id));
        add(edgeStats, `${caller.service}\u0000${name}`, seg);
      } else {
        // Called from outside the traces kept: the client.
        nodeTypes.set(CLIENT_NODE, 'client');
        add(nodeStats, CLIENT_NODE, seg);
        add(edgeStats, `${CLIENT_NODE}\u0000${name}`, seg);
      }
    }
    for (const [id, { service, doc }] of owner) {
      if (linked.has(id) || doc.in_progress === true) continue;
      const target = remoteTarget(doc);
      if (!target) continue;
      if (!nodeTypes.has(target.name)) nodeTypes.set(target.name, target.type);
      add(nodeStats, target.name, doc);
      add(edgeStats, `${service}\u0000${target.name}`, doc);
    }
  }
  const nodes: MapNode[] = [...nodeStats].map(([name, s]) => ({
    id: name,
    name,
    type: nodeTypes.get(name) ?? 'remote',
    requests: s.count,
    meanMs: s.count ? s.totalMs / s.count : 0,
    errorRate: s.count ? s.errors / s.count : 0,
  }));
  const edges: MapEdge[] = [...edgeStats].map(([key, s]) => {
    const [from, to] = key.split('\u0000');
    return { from, to, requests: s.count, meanMs: s.count ? s.totalMs / s.count : 0, errors: s.errors, errorRate: s.count ? s.errors / s.count : 0, faults: s.faults, faultRate: s.count ? s.faults / s.count : 0, throttles: s.throttles };
  });
  return { nodes, edges };
}
