import { traceContext, type TraceEntity } from '../context/trace-context.js';
import { isNoop } from '../model/noop.js';
import type { Segment } from '../model/segment.js';
import { Subsegment } from '../model/subsegment.js';
import type { InstrumentationName } from './instrumentation.js';

/** The trace an outgoing call made now belongs to: where to record it and what to propagate. @internal */
export interface CallContext {
  /** The entity the call is made from. */
  readonly parent: TraceEntity;
  /** Whether the call is recorded (a sampled trace); unsampled calls only propagate `Sampled=0`. */
  readonly sampled: boolean;
}

/**
 * Subsegments that carry their own transport (an AWS SDK call): the HTTP request the SDK makes for them
 * is part of them, not a second subsegment. @internal
 */
const ownTransport = new WeakSet<object>();

/** Marks `subsegment` as the one that owns the transport of the calls made inside it. @internal */
export function ownsTransport(subsegment: Subsegment): void {
  ownTransport.add(subsegment);
}

/** The subsegment that owns the transport of code running now, if any (an AWS SDK call). @internal */
export function transportOwner(): Subsegment | undefined {
  const entity = traceContext.get();
  return entity !== undefined && ownTransport.has(entity) ? (entity as Subsegment) : undefined;
}

/**
 * The context of a call made now from the current code, if `instrumentation` records for the recorder
 * of the current segment; `undefined` outside any trace, inside `withoutTracing()`, in a call an
 * instrumented client makes for itself, or when the recorder turned this instrumentation off.
 * @internal
 */
export function callContext(instrumentation: InstrumentationName): CallContext | undefined {
  const parent = traceContext.get();
  if (parent === undefined || isNoop(parent) || ownTransport.has(parent)) return undefined;
  const segment: Segment = parent.segment;
  const recorder = segment.recorder;
  if (recorder === undefined || !recorder.instruments(instrumentation)) return undefined;
  return { parent, sampled: segment.isSampled };
}

/** A `remote` (or `aws`) subsegment of an outgoing call, begun at `startTime`. @internal */
export function beginCall(context: CallContext, name: string, namespace: 'remote' | 'aws', startTime?: number): Subsegment {
  return new Subsegment(name, context.parent, { namespace, startTime });
}

/**
 * The `X-Amzn-Trace-Id` an outgoing call carries: this subsegment as the parent when recorded, else
 * the entity it was made from with `Sampled=0`. @internal
 */
export function callHeader(context: CallContext, subsegment: Subsegment | undefined): string | undefined {
  const entity = subsegment ?? context.parent;
  return entity.segment.recorder?.downstreamHeader(entity);
}

/**
 * The W3C `traceparent` of the same call when the recorder has `W3C_TRACE_CONTEXT` on: the X-Ray trace
 * id without its dashes (the epoch part leads, so both formats name the same trace), the same parent,
 * the sampled flag. @internal
 */
export function callTraceparent(context: CallContext, subsegment: Subsegment | undefined): string | undefined {
  const entity = subsegment ?? context.parent;
  const segment = entity.segment;
  if (segment.recorder?.config?.w3cTraceContext !== true) return undefined;
  const id = segment.trace_id;
  return `00-${id.slice(2, 10)}${id.slice(11)}-${entity.id}-${segment.isSampled ? '01' : '00'}`;
}

/** Whether a response's `X-Amzn-Trace-Id` says the callee continued this trace (then `traced: true`). @internal */
export function calleeTraced(subsegment: Subsegment, responseHeader: unknown): boolean {
  const value = Array.isArray(responseHeader) ? responseHeader[0] : responseHeader;
  return typeof value === 'string' && value.includes(`Root=${subsegment.segment.trace_id}`);
}

/** The URL X-Ray records for a call: no query string, no credentials (as the Python SDK's `strip_url`). @internal */
export function callUrl(protocol: string, host: string, path: string): string {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  const cut = q === -1 ? h : h === -1 ? q : Math.min(q, h);
  const at = host.lastIndexOf('@');
  return `${protocol}//${at === -1 ? host : host.slice(at + 1)}${cut === -1 ? path : path.slice(0, cut)}`;
}
