import { epochSeconds, formatEpoch, roundEpoch } from './clock.js';
import { diag } from './diag.js';
import { buildExceptions, recordedExceptionId, type CauseData } from './exception.js';
import { newEntityId, newTraceId } from './ids.js';
import { toJsonSafe } from './json-safe.js';
import { quoteJson, sanitizeName, truncate } from './names.js';
import type { TraceHeader } from './trace-header.js';

/** A value an annotation may hold. */
export type AnnotationValue = string | number | boolean;

/** `http.request` of a segment or of a subsegment that represents an outgoing call. */
export interface HttpRequestData {
  method?: string;
  url?: string;
  client_ip?: string;
  user_agent?: string;
  x_forwarded_for?: boolean;
  /** On a downstream call: the callee is traced too. */
  traced?: boolean;
}

/** `http.response` of a segment or subsegment. */
export interface HttpResponseData {
  status?: number;
  content_length?: number;
}

/** The `http` block. */
export interface HttpData {
  request?: HttpRequestData;
  response?: HttpResponseData;
}

/** The `sql` block of a subsegment that represents a query. */
export interface SqlData {
  url?: string;
  connection_string?: string;
  sanitized_query?: string;
  database_type?: string;
  database_version?: string;
  driver_version?: string;
  user?: string;
  preparation?: 'statement' | 'call';
}

/** The flag an error or a status sets: `throttle` also sets `error`; `none` sets nothing. */
export type ErrorFlag = 'fault' | 'error' | 'throttle' | 'none';

/** The flag of an HTTP status, as X-Ray reads it: 5xx `fault`, 429 `throttle`, other 4xx `error`. */
export function statusFlag(status: number): ErrorFlag {
  if (status >= 500 && status < 600) return 'fault';
  if (status === 429) return 'throttle';
  if (status >= 400 && status < 500) return 'error';
  return 'none';
}

/** How an error is recorded. */
export interface AddErrorOptions {
  /** The error came from a downstream service (`remote: true` in the exception). @default false */
  remote?: boolean;
  /**
   * Which flag the error sets: `fault` (the Python SDK always sets it), `error`, `throttle` (which
   * also sets `error`), or `none`, when a status code already said what happened. @default 'fault'
   */
  flag?: ErrorFlag;
}

/**
 * What a segment needs from the recorder to go out: settings and the document writer.
 * @internal
 */
export interface SegmentSink {
  readonly maxTraceBack: number;
  readonly workingDirectory: string;
  /** The segment closed: send it (open subsegments go as in-progress and follow when they close). */
  segmentClosed(segment: Segment): void;
  /** A subsegment closed while its segment is open: stream completed subtrees if the segment is large. */
  subsegmentClosed(segment: Segment, subsegment: Subsegment): void;
  /** A subsegment closed after its segment was sent and under a parent that is closed: send it alone. */
  lateSubsegmentClosed(subsegment: Subsegment): void;
}

const ANNOTATION_KEY = /^[A-Za-z0-9_]{1,500}$/;
/** Keys seen valid before (keys repeat on every request); bounded. @internal */
const validKeys = new Set<string>();
function checkAnnotationKey(key: unknown): boolean {
  if (typeof key !== 'string' || !ANNOTATION_KEY.test(key)) return false;
  if (validKeys.size < 1000) validKeys.add(key);
  return true;
}
/** X-Ray keeps at most 50 annotations per trace; more are dropped with a warning. */
export const MAX_ANNOTATIONS = 50;
/** Longest annotation string value the schema allows. */
export const MAX_ANNOTATION_LENGTH = 1000;
/** Longest `http.request` string the schema allows. */
export const MAX_HTTP_FIELD_LENGTH = 250;

const DEFAULT_MAX_TRACE_BACK = 10;

/** The `aws` and `service` blocks are shared by every segment: serialized once. @internal */
const jsonCache = new WeakMap<object, string>();
function cachedJson(value: object): string {
  let json = jsonCache.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    jsonCache.set(value, json);
  }
  return json;
}

/**
 * What segments and subsegments have in common. The object holds the document fields under their
 * wire names; `toJSON()` writes exactly the document.
 */
export abstract class Entity {
  /** The name, sanitized to what X-Ray accepts. */
  name: string;
  /** 16 hex digits. */
  readonly id: string;
  /** Epoch seconds. */
  start_time: number;
  /** Epoch seconds, once closed. */
  end_time: number | undefined = undefined;
  /** `true` until closed. */
  in_progress = true;
  http: HttpData | undefined = undefined;
  annotations: Record<string, AnnotationValue> | undefined = undefined;
  metadata: Record<string, Record<string, unknown>> | undefined = undefined;
  cause: CauseData | string | undefined = undefined;
  fault = false;
  error = false;
  throttle = false;
  /** Nested subsegments still held by this entity (streamed ones are removed). */
  subsegments: Subsegment[] | undefined = undefined;
  /** @internal number of annotations */
  annotationCount = 0;

  protected constructor(name: string, id: string | undefined, startTime: number | undefined) {
    this.name = name;
    this.id = id ?? newEntityId();
    this.start_time = startTime ?? epochSeconds();
  }

  /** The segment this entity belongs to. */
  abstract get segment(): Segment;

  /** Whether this entity's trace is recorded and sent. */
  get sampled(): boolean {
    return this.segment.sampled;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.end_time !== undefined;
  }

  /**
   * Adds an annotation (indexed, searchable). Keys are `[A-Za-z0-9_]` (1–500); values a string, a
   * finite number or a boolean. Anything else is dropped with a warning; strings over 1,000
   * characters are cut; past 50 annotations further keys are dropped with a warning. Never throws.
   */
  putAnnotation(key: string, value: AnnotationValue): void {
    if (!validKeys.has(key) && !checkAnnotationKey(key)) {
      diag.warn('annotation_key_invalid', `Annotation key ${JSON.stringify(String(key)).slice(0, 80)} dropped: keys are 1-500 characters of A-Z, a-z, 0-9 and _.`, String(key).slice(0, 80));
      return;
    }
    const type = typeof value;
    if (type === 'string') {
      if ((value as string).length > MAX_ANNOTATION_LENGTH) {
        diag.warn('annotation_value_truncated', `Annotation "${key}" cut to ${MAX_ANNOTATION_LENGTH} characters.`, key);
        value = truncate(value as string, MAX_ANNOTATION_LENGTH);
      }
    } else if (!(type === 'boolean' || (type === 'number' && Number.isFinite(value)))) {
      diag.warn('annotation_value_invalid', `Annotation "${key}" dropped: values must be a string, a finite number or a boolean, not ${type === 'number' ? String(value) : type}.`, key);
      return;
    }
    const annotations = (this.annotations ??= {});
    if (!(key in annotations)) {
      if (this.annotationCount >= MAX_ANNOTATIONS) {
        diag.warn('annotation_limit', `Annotation "${key}" dropped: X-Ray keeps at most ${MAX_ANNOTATIONS} annotations.`, key);
        return;
      }
      this.annotationCount++;
    }
    annotations[key] = value;
  }

  /**
   * Adds metadata (not indexed) under a namespace (`default` unless given). The value is copied into a
   * JSON-safe form at once, so later changes to it are not seen and serialization never throws.
   * Namespaces starting with `AWS.` are reserved and dropped with a warning.
   */
  putMetadata(key: string, value: unknown, namespace = 'default'): void {
    if (typeof namespace !== 'string' || namespace.length === 0 || namespace.startsWith('AWS.')) {
      diag.warn('metadata_namespace_invalid', `Metadata namespace ${JSON.stringify(String(namespace))} dropped: it must be a non-empty string not starting with "AWS.".`, String(namespace));
      return;
    }
    if (typeof key !== 'string') {
      diag.warn('metadata_key_invalid', 'Metadata dropped: the key must be a string.');
      return;
    }
    const metadata = (this.metadata ??= {});
    const ns = (metadata[namespace] ??= {});
    ns[key] = toJsonSafe(value);
  }

  /** Records the HTTP request (strings cut to 250 characters, the schema's limit). */
  setHttpRequest(request: HttpRequestData): void {
    const out: HttpRequestData = {};
    if (request.method) out.method = truncate(String(request.method), MAX_HTTP_FIELD_LENGTH);
    if (request.url) out.url = truncate(String(request.url), MAX_HTTP_FIELD_LENGTH);
    if (request.client_ip) out.client_ip = truncate(String(request.client_ip), MAX_HTTP_FIELD_LENGTH);
    if (request.user_agent) out.user_agent = truncate(String(request.user_agent), MAX_HTTP_FIELD_LENGTH);
    if (request.x_forwarded_for) out.x_forwarded_for = true;
    if (request.traced) out.traced = true;
    (this.http ??= {}).request = out;
  }

  /** Records the HTTP response and sets the flags its status calls for. */
  setHttpResponse(response: HttpResponseData): void {
    const out: HttpResponseData = {};
    const status = Number(response.status);
    if (Number.isInteger(status) && status > 0) {
      out.status = status;
      this.applyStatusCode(status);
    }
    const length = Number(response.content_length);
    if (response.content_length !== undefined && Number.isFinite(length) && length >= 0) out.content_length = length;
    (this.http ??= {}).response = out;
  }

  /** Sets the flags of an HTTP status: 5xx `fault`; 429 `throttle` and `error`; other 4xx `error`. */
  applyStatusCode(status: number): void {
    this.setFlag(statusFlag(status));
  }

  private setFlag(flag: ErrorFlag): void {
    if (flag === 'fault') this.fault = true;
    else if (flag === 'error') this.error = true;
    else if (flag === 'throttle') this.throttle = this.error = true;
  }

  /**
   * Records an error: `cause.exceptions` gets the error (and its `Error.cause` chain) with a stack of at
   * most `MAX_TRACE_BACK` frames, leaving out xrayjs's own frames. An error that a child entity
   * recorded already is referenced by its id instead. Never throws.
   */
  addError(error: unknown, options: AddErrorOptions = {}): void {
    try {
      this.setFlag(options.flag ?? 'fault');
      const knownId = recordedExceptionId(error);
      if (knownId !== undefined) {
        if (this.cause === undefined) this.cause = knownId;
        return;
      }
      const sink = this.segment.sink;
      const cwd = sink?.workingDirectory ?? process.cwd();
      const exceptions = buildExceptions(error, options.remote === true, sink?.maxTraceBack ?? DEFAULT_MAX_TRACE_BACK, cwd);
      if (typeof this.cause === 'object') this.cause.exceptions.push(...exceptions);
      else this.cause = { working_directory: cwd, exceptions };
    } catch (e) {
      diag.error('add_error_failed', `Could not record an error: ${String(e)}`);
    }
  }

  /** @internal */
  addChild(child: Subsegment): void {
    (this.subsegments ??= []).push(child);
  }

  /** @internal */
  removeChild(child: Subsegment): void {
    const list = this.subsegments;
    if (!list) return;
    const i = list.indexOf(child);
    if (i !== -1) list.splice(i, 1);
  }

  /**
   * The fields common to both kinds of document as JSON text (each prefixed with a comma). The same
   * output as `toJSON()`, written directly: this runs for every request. @internal
   */
  protected serializeCommon(): string {
    let s = '';
    if (this.end_time !== undefined) s += `,"end_time":${formatEpoch(this.end_time)}`;
    s += this.in_progress ? ',"in_progress":true' : ',"in_progress":false';
    if (this.fault) s += ',"fault":true';
    if (this.error) s += ',"error":true';
    if (this.throttle) s += ',"throttle":true';
    if (this.http !== undefined) s += `,"http":${JSON.stringify(this.http)}`;
    if (this.annotations !== undefined) s += `,"annotations":${JSON.stringify(this.annotations)}`;
    if (this.metadata !== undefined) s += `,"metadata":${JSON.stringify(this.metadata)}`;
    if (this.cause !== undefined) s += `,"cause":${JSON.stringify(this.cause)}`;
    return s;
  }

  /** The nested subsegments as JSON text. @internal */
  protected serializeChildren(): string {
    const list = this.subsegments;
    if (list === undefined || list.length === 0) return '';
    let s = ',"subsegments":[';
    for (let i = 0; i < list.length; i++) s += (i === 0 ? '' : ',') + list[i].serialize();
    return `${s}]`;
  }

  /** Fields common to both kinds of document, written onto `out`. @internal */
  protected writeCommon(out: Record<string, unknown>): void {
    if (this.end_time !== undefined) out.end_time = roundEpoch(this.end_time);
    out.in_progress = this.in_progress;
    if (this.fault) out.fault = true;
    if (this.error) out.error = true;
    if (this.throttle) out.throttle = true;
    if (this.http !== undefined) out.http = this.http;
    if (this.annotations !== undefined) out.annotations = this.annotations;
    if (this.metadata !== undefined) out.metadata = this.metadata;
    if (this.cause !== undefined) out.cause = this.cause;
  }
}

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
  /** Where the segment goes when it closes. */
  sink?: SegmentSink;
  /** The incoming header, whose extra pairs are propagated downstream. */
  incomingHeader?: TraceHeader;
}

/**
 * A segment: the work one service did for one request (or one job). Sent when it closes.
 */
export class Segment extends Entity {
  readonly trace_id: string;
  parent_id: string | undefined;
  user: string | undefined = undefined;
  origin: string | undefined;
  aws: Record<string, unknown> | undefined;
  service: Record<string, unknown> | undefined;
  /** @internal */
  readonly sink: SegmentSink | undefined;
  /** @internal whether recorded */
  readonly isSampled: boolean;
  /** @internal subsegments held in the tree (all depths; streamed ones are subtracted) */
  held = 0;
  /** @internal set once the segment document was handed to the sink */
  sent = false;
  /** @internal the incoming trace header, for propagation of its extra pairs */
  readonly incomingHeader: TraceHeader | undefined;

  constructor(name: string, init: SegmentInit = {}) {
    super(sanitizeName(name, 'segment'), init.id, init.startTime);
    this.trace_id = init.traceId ?? newTraceId();
    this.parent_id = init.parentId;
    this.isSampled = init.sampled ?? true;
    this.aws = init.aws;
    this.service = init.service;
    this.origin = init.origin;
    this.sink = init.sink;
    this.incomingHeader = init.incomingHeader;
  }

  override get segment(): Segment {
    return this;
  }

  override get sampled(): boolean {
    return this.isSampled;
  }

  /** Sets the user the request was made for (indexed; at most 250 characters). */
  setUser(user: string): void {
    if (typeof user !== 'string' || user.length === 0) {
      diag.warn('user_invalid', 'setUser() ignored: the user must be a non-empty string.');
      return;
    }
    this.user = truncate(user, 250);
  }

  /** Adds a key to the `aws` block (for example `sampling_rule_name` under `xray`). */
  setAwsField(key: string, value: unknown): void {
    this.aws = { ...this.aws, [key]: value };
  }

  /**
   * Closes the segment and sends it. Subsegments still open go out as in-progress and are sent again,
   * complete, when they close. A second call is ignored.
   */
  close(endTime?: number): void {
    if (this.end_time !== undefined) return;
    this.end_time = endTime ?? epochSeconds();
    this.in_progress = false;
    if (this.isSampled && this.sink) this.sink.segmentClosed(this);
  }

  /** The segment document as JSON text (what `JSON.stringify(segment)` gives, faster). */
  serialize(): string {
    let s = `{"name":${quoteJson(this.name)},"id":"${this.id}","trace_id":"${this.trace_id}","start_time":${formatEpoch(this.start_time)}`;
    if (this.parent_id !== undefined) s += `,"parent_id":"${this.parent_id}"`;
    s += this.serializeCommon();
    if (this.user !== undefined) s += `,"user":${JSON.stringify(this.user)}`;
    if (this.origin !== undefined) s += `,"origin":${JSON.stringify(this.origin)}`;
    if (this.aws !== undefined) s += `,"aws":${cachedJson(this.aws)}`;
    if (this.service !== undefined) s += `,"service":${cachedJson(this.service)}`;
    return `${s}${this.serializeChildren()}}`;
  }

  /** The segment document. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      id: this.id,
      trace_id: this.trace_id,
      start_time: roundEpoch(this.start_time),
    };
    if (this.parent_id !== undefined) out.parent_id = this.parent_id;
    this.writeCommon(out);
    if (this.user !== undefined) out.user = this.user;
    if (this.origin !== undefined) out.origin = this.origin;
    if (this.aws !== undefined) out.aws = this.aws;
    if (this.service !== undefined) out.service = this.service;
    if (this.subsegments !== undefined && this.subsegments.length > 0) out.subsegments = this.subsegments;
    return out;
  }
}

/** Options of a new subsegment. */
export interface SubsegmentInit {
  /** `remote` for calls to other services and databases, `aws` for AWS calls. @default 'local' */
  namespace?: string;
  /** Start time in epoch seconds. @default now */
  startTime?: number;
}

/**
 * A subsegment: a unit of work inside a segment (a method, a query, an outgoing call).
 */
export class Subsegment extends Entity {
  namespace: string | undefined;
  sql: SqlData | undefined = undefined;
  aws: Record<string, unknown> | undefined = undefined;
  /** Set on an outgoing call when the callee is traced. */
  traced: boolean | undefined = undefined;
  /** @internal */
  readonly parent: Entity;
  private readonly owner: Segment;

  /** @internal use `Recorder.beginSubsegment()` or `parent` APIs */
  constructor(name: string, parent: Entity, init: SubsegmentInit = {}) {
    super(sanitizeName(name, 'subsegment'), undefined, init.startTime);
    this.namespace = init.namespace ?? 'local';
    this.parent = parent;
    this.owner = parent.segment;
    parent.addChild(this);
    this.owner.held++;
  }

  override get segment(): Segment {
    return this.owner;
  }

  /**
   * Takes this open subsegment out of its parent until {@link Subsegment.reattach} (work that starts
   * later, such as an Observable's at subscription). @internal
   */
  detach(): void {
    this.parent.removeChild(this);
    this.owner.held--;
  }

  /** Puts a detached subsegment back under its parent, starting now. @internal */
  reattach(): void {
    this.parent.addChild(this);
    this.owner.held++;
    this.start_time = epochSeconds();
  }

  /** Records the query of a database call. */
  setSql(sql: SqlData): void {
    this.sql = { ...sql };
  }

  /** Closes the subsegment; a second call is ignored. */
  close(endTime?: number): void {
    if (this.end_time !== undefined) return;
    this.end_time = endTime ?? epochSeconds();
    this.in_progress = false;
    const segment = this.owner;
    const sink = segment.sink;
    if (!sink || !segment.isSampled) return;
    if (segment.sent) {
      // The segment went out with this subsegment in progress. Its parent sends it when that closes;
      // otherwise (parent closed or already sent) it goes alone now.
      if (this.parent === segment || this.parent.closed) sink.lateSubsegmentClosed(this);
    } else {
      sink.subsegmentClosed(segment, this);
    }
  }

  /** This subsegment as nested in its parent, as JSON text (what `JSON.stringify` gives, faster). */
  serialize(standalone = false): string {
    let s = `{"name":${quoteJson(this.name)},"id":"${this.id}","start_time":${formatEpoch(this.start_time)}`;
    s += this.serializeCommon();
    if (this.namespace !== undefined) s += `,"namespace":${quoteJson(this.namespace)}`;
    if (this.traced) s += ',"traced":true';
    if (this.sql !== undefined) s += `,"sql":${JSON.stringify(this.sql)}`;
    if (this.aws !== undefined) s += `,"aws":${JSON.stringify(this.aws)}`;
    s += this.serializeChildren();
    if (standalone) s += `,"type":"subsegment","trace_id":"${this.owner.trace_id}","parent_id":"${this.parent.id}"`;
    return `${s}}`;
  }

  /** The document of this subsegment as nested in its parent. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, id: this.id, start_time: roundEpoch(this.start_time) };
    this.writeCommon(out);
    if (this.namespace !== undefined) out.namespace = this.namespace;
    if (this.traced) out.traced = true;
    if (this.sql !== undefined) out.sql = this.sql;
    if (this.aws !== undefined) out.aws = this.aws;
    if (this.subsegments !== undefined && this.subsegments.length > 0) out.subsegments = this.subsegments;
    return out;
  }

  /** The document of this subsegment sent on its own: with `type`, `trace_id` and `parent_id`. */
  toStandaloneJSON(): Record<string, unknown> {
    const out = this.toJSON();
    out.type = 'subsegment';
    out.trace_id = this.owner.trace_id;
    out.parent_id = this.parent.id;
    return out;
  }
}
