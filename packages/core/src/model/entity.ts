import { describeValue, diag } from '../diag.js';
import { toJsonSafe } from '../json-safe.js';
import { truncate } from '../names.js';
import type { AnnotationValue, HttpData, HttpRequestData, HttpResponseData } from './document-fields.js';
import { buildExceptions, type CauseData } from './exception.js';
import { httpText } from './http-text.js';
import { endTimeText, statusIndex, statusText } from './json-text.js';
import { statusFlag, type ErrorFlag } from './status-flag.js';
import type { Segment } from './segment.js';
import type { Subsegment } from './subsegment.js';

/** How an error is recorded. */
export interface AddErrorOptions {
  /** The error came from a downstream service (`remote: true` in the exception). @default false */
  remote?: boolean;
  /**
   * Which flag the error sets: `fault` (the Python SDK always sets it), `error`, `throttle` (which
   * also sets `error`), or `none`, when a status code decides what happened. @default 'fault'
   */
  flag?: ErrorFlag;
  /**
   * Rewrites each message before it is recorded (the error itself is not touched): instrumentations
   * take query parameter values out of a database error this way.
   */
  redact?: (message: string) => string;
}

const ANNOTATION_KEY = /^[A-Za-z0-9_]{1,500}$/;
/** Keys seen valid before (keys repeat on every request); bounded. @internal */
const validKeys = new Set<string>();
function checkAnnotationKey(key: unknown): boolean {
  if (typeof key !== 'string' || !ANNOTATION_KEY.test(key) || key === '__proto__') return false;
  if (validKeys.size < 1000) validKeys.add(key);
  return true;
}

/** What `putAnnotation` does with a value: keeps it, cuts it (a string over 1,000 characters), or drops it. */
function annotationValueFate(value: unknown): 'keep' | 'cut' | 'drop' {
  const type = typeof value;
  if (type === 'string') return (value as string).length > MAX_ANNOTATION_LENGTH ? 'cut' : 'keep';
  return type === 'boolean' || (type === 'number' && Number.isFinite(value)) ? 'keep' : 'drop';
}

/**
 * Annotations checked and serialized once, to be put on many entities: the same route's annotations
 * on every request. Made by {@link prepareAnnotations}; an entity holds them shared until something
 * reads or changes its `annotations`, when it gets a copy of its own.
 */
export interface PreparedAnnotations {
  readonly values: Readonly<Record<string, AnnotationValue>>;
  /** The JSON text of `values`. @internal */
  readonly json: string;
  /** @internal */
  readonly count: number;
}

/**
 * Checks and serializes annotations once, for {@link Entity.putAnnotations}. `undefined` when any key
 * or value is one `putAnnotation` would drop or cut, or there are more than X-Ray keeps: put those one
 * by one, with their warnings.
 */
export function prepareAnnotations(values: Record<string, AnnotationValue>): PreparedAnnotations | undefined {
  const copy: Record<string, AnnotationValue> = {};
  let count = 0;
  for (const key of Object.keys(values)) {
    const value = values[key];
    if (!checkAnnotationKey(key) || annotationValueFate(value) !== 'keep') return undefined;
    copy[key] = value;
    count++;
  }
  if (count > MAX_ANNOTATIONS) return undefined;
  return Object.freeze({ values: Object.freeze(copy), json: JSON.stringify(copy), count });
}

/**
 * Whether a caller's key can be a property of a plain object: `__proto__` would set the object's
 * prototype instead (other keys, `constructor` too, become own properties and are safe).
 * @internal
 */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__';
}

/** A caller's time if it is a finite number of epoch seconds, else `undefined`. @internal */
export function validTime(time: unknown): number | undefined {
  return typeof time === 'number' && Number.isFinite(time) && time >= 0 ? time : undefined;
}

/** X-Ray keeps at most 50 annotations per trace; more are dropped with a warning. */
export const MAX_ANNOTATIONS = 50;
/** Longest annotation string value the schema allows. */
export const MAX_ANNOTATION_LENGTH = 1000;
/** Longest `http.request` string the schema allows. */
export const MAX_HTTP_FIELD_LENGTH = 250;

const DEFAULT_MAX_TRACE_BACK = 10;

/**
 * What segments and subsegments have in common: the document fields under their wire names, and the
 * methods that fill them. Every method here never throws; a value X-Ray cannot take is dropped with a
 * warning (logged once per kind, counted in `recorder.stats()`). Entities of an unsampled trace, and
 * the no-op entities of a disabled recorder, ignore every change.
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
  /**
   * @internal `http.request` and `http.response` as `setHttpRequest` and `setHttpResponse` recorded
   * them, until something reads or sets `http` (see there): written without `JSON.stringify`.
   */
  recordedRequest: HttpRequestData | undefined = undefined;
  /** @internal */
  recordedResponse: HttpResponseData | undefined = undefined;
  /** @internal the `http` block once handed out (read or set through `http`): serialized as it stands */
  ownHttp: HttpData | undefined = undefined;
  /** @internal the entity's own annotations (see `annotations`) */
  ownAnnotations: Record<string, AnnotationValue> | undefined = undefined;
  /** @internal annotations shared with other entities, until this one gets its own copy */
  sharedAnnotations: PreparedAnnotations | undefined = undefined;
  metadata: Record<string, Record<string, unknown>> | undefined = undefined;
  cause: CauseData | string | undefined = undefined;
  fault = false;
  error = false;
  throttle = false;
  /**
   * Child subsegments whose documents have not left with this entity yet. Kept by the document
   * writer, which attaches children when they begin and drops them once they are sent. @internal
   */
  subsegments: Subsegment[] | undefined = undefined;
  /**
   * Set by the document writer once a document with this entity closed has left, so that nothing
   * under it will be sent with it again: a child that begins or closes later goes out alone. @internal
   */
  final = false;
  /** @internal number of annotations */
  annotationCount = 0;

  protected constructor(name: string, id: string, startTime: number) {
    this.name = name;
    this.id = id;
    this.start_time = startTime;
  }

  /** The segment this entity belongs to. */
  abstract get segment(): Segment;

  /** The annotations, indexed and searchable (set them with `putAnnotation`). */
  get annotations(): Record<string, AnnotationValue> | undefined {
    const shared = this.sharedAnnotations;
    if (shared !== undefined) {
      // Whoever reads them may change them: from now on this entity has its own copy.
      this.ownAnnotations = Object.assign({}, shared.values);
      this.sharedAnnotations = undefined;
    }
    return this.ownAnnotations;
  }

  set annotations(value: Record<string, AnnotationValue> | undefined) {
    this.ownAnnotations = value;
    this.sharedAnnotations = undefined;
  }

  /**
   * The `http` block (set it with `setHttpRequest` and `setHttpResponse`). Until something reads or
   * sets it, the entity keeps what those recorded apart and writes its JSON itself; from then on the
   * block is the caller's object, serialized as it stands.
   */
  get http(): HttpData | undefined {
    const request = this.recordedRequest;
    const response = this.recordedResponse;
    if (request !== undefined || response !== undefined) {
      const http = (this.ownHttp ??= {});
      if (request !== undefined) http.request = request;
      if (response !== undefined) http.response = response;
      this.recordedRequest = this.recordedResponse = undefined;
    }
    return this.ownHttp;
  }

  set http(value: HttpData | undefined) {
    this.ownHttp = value;
    this.recordedRequest = this.recordedResponse = undefined;
  }

  /** @internal `http.request`, without handing the block out */
  get httpRequest(): HttpRequestData | undefined {
    return this.ownHttp !== undefined ? this.ownHttp.request : this.recordedRequest;
  }

  /** @internal `http.response`, without handing the block out */
  get httpResponse(): HttpResponseData | undefined {
    return this.ownHttp !== undefined ? this.ownHttp.response : this.recordedResponse;
  }

  /**
   * Puts annotations prepared once with {@link prepareAnnotations} (the same for every request of a
   * route), without checking or serializing them again. An entity that has annotations already gets
   * them one by one, as `putAnnotation` would put them.
   */
  putAnnotations(prepared: PreparedAnnotations): void {
    if (!this.segment.isSampled) return;
    if (this.ownAnnotations === undefined && this.sharedAnnotations === undefined) {
      this.sharedAnnotations = prepared;
      this.annotationCount = prepared.count;
      return;
    }
    for (const key of Object.keys(prepared.values)) this.putAnnotation(key, prepared.values[key]);
  }

  /** Whether this entity's trace is recorded and sent. */
  get sampled(): boolean {
    return this.segment.isSampled;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.end_time !== undefined;
  }

  /**
   * Adds an annotation (indexed, searchable). Keys are `[A-Za-z0-9_]` (1–500); values a string, a
   * finite number or a boolean. Anything else is dropped with a warning; strings over 1,000
   * characters are cut; past 50 annotations further keys are dropped with a warning.
   */
  putAnnotation(key: string, value: AnnotationValue): void {
    if (!this.segment.isSampled) return;
    try {
      if (!validKeys.has(key) && !checkAnnotationKey(key)) {
        const shown = describeValue(key);
        diag.warn('annotation_key_invalid', `Annotation key ${shown} dropped: keys are 1-500 characters of A-Z, a-z, 0-9 and _ (and not __proto__).`, shown);
        return;
      }
      const fate = annotationValueFate(value);
      if (fate === 'cut') {
        diag.warn('annotation_value_truncated', `Annotation "${key}" cut to ${MAX_ANNOTATION_LENGTH} characters.`, key);
        value = truncate(value as string, MAX_ANNOTATION_LENGTH);
      } else if (fate === 'drop') {
        diag.warn('annotation_value_invalid', `Annotation "${key}" dropped: values must be a string, a finite number or a boolean, not ${describeValue(value)}.`, key);
        return;
      }
      const annotations = (this.annotations ??= {});
      if (!Object.hasOwn(annotations, key)) {
        if (this.annotationCount >= MAX_ANNOTATIONS) {
          diag.warn('annotation_limit', `Annotation "${key}" dropped: X-Ray keeps at most ${MAX_ANNOTATIONS} annotations.`, key);
          return;
        }
        this.annotationCount++;
      }
      annotations[key] = value;
    } catch (e) {
      diag.warn('annotation_failed', `An annotation was dropped: ${describeValue(e)}.`);
    }
  }

  /**
   * Adds metadata (not indexed) under a namespace (`default` unless given). The value is copied into a
   * JSON-safe form at once, so later changes to it are not seen and serialization never throws.
   * Namespaces starting with `AWS.` are reserved; they and the key `__proto__` are dropped with a warning.
   */
  putMetadata(key: string, value: unknown, namespace = 'default'): void {
    if (!this.segment.isSampled) return;
    try {
      if (typeof namespace !== 'string' || namespace.length === 0 || namespace.startsWith('AWS.') || !isSafeKey(namespace)) {
        const shown = describeValue(namespace);
        diag.warn('metadata_namespace_invalid', `Metadata namespace ${shown} dropped: it must be a non-empty string, not starting with "AWS.", and not __proto__.`, shown);
        return;
      }
      if (typeof key !== 'string' || !isSafeKey(key)) {
        diag.warn('metadata_key_invalid', `Metadata key ${describeValue(key)} dropped: the key must be a string other than __proto__.`);
        return;
      }
      const copy = toJsonSafe(value);
      const metadata = (this.metadata ??= {});
      const ns = Object.hasOwn(metadata, namespace) ? metadata[namespace] : (metadata[namespace] = {});
      ns[key] = copy;
    } catch (e) {
      diag.warn('metadata_failed', `Metadata "${describeValue(key)}" dropped: ${describeValue(e)}.`);
    }
  }

  /** Records the HTTP request (strings cut to 250 characters, the schema's limit). */
  setHttpRequest(request: HttpRequestData): void {
    if (!this.segment.isSampled) return;
    try {
      const out: HttpRequestData = {};
      const { method, url, client_ip, user_agent, x_forwarded_for, traced } = request;
      if (method) out.method = truncate(String(method), MAX_HTTP_FIELD_LENGTH);
      if (url) out.url = truncate(String(url), MAX_HTTP_FIELD_LENGTH);
      if (client_ip) out.client_ip = truncate(String(client_ip), MAX_HTTP_FIELD_LENGTH);
      if (user_agent) out.user_agent = truncate(String(user_agent), MAX_HTTP_FIELD_LENGTH);
      if (x_forwarded_for) out.x_forwarded_for = true;
      if (traced) out.traced = true;
      if (this.ownHttp !== undefined) this.ownHttp.request = out;
      else this.recordedRequest = out;
    } catch (e) {
      diag.warn('http_invalid', `http.request dropped: ${describeValue(e)}.`);
    }
  }

  /** Records the HTTP response and sets the flags its status calls for. */
  setHttpResponse(response: HttpResponseData): void {
    if (!this.segment.isSampled) return;
    try {
      const out: HttpResponseData = {};
      const status = Number(response.status);
      if (Number.isInteger(status) && status > 0) {
        out.status = status;
        this.applyStatusCode(status);
      }
      const length = Number(response.content_length);
      if (response.content_length !== undefined && Number.isFinite(length) && length >= 0) out.content_length = length;
      if (this.ownHttp !== undefined) this.ownHttp.response = out;
      else this.recordedResponse = out;
    } catch (e) {
      diag.warn('http_invalid', `http.response dropped: ${describeValue(e)}.`);
    }
  }

  /** Sets the flags of an HTTP status: 5xx `fault`; 429 `throttle` and `error`; other 4xx `error`. */
  applyStatusCode(status: number): void {
    if (!this.segment.isSampled) return;
    if (typeof status === 'number') this.setFlag(statusFlag(status));
  }

  /** @internal */
  setFlag(flag: ErrorFlag): void {
    if (flag === 'fault') this.fault = true;
    else if (flag === 'error') this.error = true;
    else if (flag === 'throttle') this.throttle = this.error = true;
  }

  /**
   * Records an error: `cause.exceptions` gets the error (and its `Error.cause` chain) with a stack of at
   * most `MAX_TRACE_BACK` frames, leaving out xrayjs's own frames. An error that an entity of the same
   * segment recorded already is referenced by its id instead.
   */
  addError(error: unknown, options: AddErrorOptions = {}): void {
    const segment = this.segment;
    if (!segment.isSampled) return;
    try {
      this.setFlag(options?.flag ?? 'fault');
      const recorded = (segment.recordedErrors ??= new WeakMap());
      const knownId = (typeof error === 'object' || typeof error === 'function') && error !== null ? recorded.get(error) : undefined;
      if (knownId !== undefined) {
        if (this.cause === undefined) this.cause = knownId;
        return;
      }
      const owner = segment.recorder;
      const cwd = owner?.workingDirectory ?? process.cwd();
      const exceptions = buildExceptions(error, options?.remote === true, owner?.maxTraceBack ?? DEFAULT_MAX_TRACE_BACK, cwd, recorded, options?.redact);
      if (typeof this.cause === 'object') this.cause.exceptions.push(...exceptions);
      else this.cause = { working_directory: cwd, exceptions };
    } catch (e) {
      diag.error('add_error_failed', `Could not record an error: ${describeValue(e)}`);
    }
  }

  /** Closes the entity (a second call is ignored) and hands it to the document writer. */
  close(endTime?: number): void {
    if (this.end_time !== undefined) return;
    this.end_time = validTime(endTime) ?? this.segment.now();
    this.in_progress = false;
    const segment = this.segment;
    if (segment.isSampled) segment.processor?.onEnd(this as unknown as Segment | Subsegment);
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
   * The document as JSON text: the whole document for a segment, and for a subsegment its nested
   * form, or with `standalone` the form it takes when sent alone (`type`, `trace_id`, `parent_id`).
   * The only serializer: `toJSON()` reads its output back.
   */
  abstract serialize(standalone?: boolean): string;

  /** The document (the value of `serialize()`, parsed). */
  toJSON(): Record<string, unknown> {
    return JSON.parse(this.serialize()) as Record<string, unknown>;
  }

  /**
   * Appends the fields common to both kinds of document to `s`, each prefixed with a comma: end time,
   * status, flags, http, annotations, metadata, cause. Appended to the caller's text rather than
   * returned apart, and with the fixed pieces merged (see `json-text.ts`): every piece of a document
   * costs a step of the copy V8 makes when it is encoded. @internal
   */
  protected serializeCommon(s: string): string {
    if (this.end_time !== undefined) s += endTimeText.write(this.end_time);
    const own = this.ownHttp;
    const request = this.recordedRequest;
    const response = this.recordedResponse;
    const http = own !== undefined || request !== undefined || response !== undefined;
    s += statusText[statusIndex(this.in_progress, this.fault, this.error, this.throttle, http)];
    if (own !== undefined) s += JSON.stringify(own);
    else if (http) s += httpText(request, response);
    if (this.sharedAnnotations !== undefined) s += `,"annotations":${this.sharedAnnotations.json}`;
    else if (this.ownAnnotations !== undefined) s += `,"annotations":${JSON.stringify(this.ownAnnotations)}`;
    if (this.metadata !== undefined) s += `,"metadata":${JSON.stringify(this.metadata)}`;
    if (this.cause !== undefined) s += `,"cause":${JSON.stringify(this.cause)}`;
    return s;
  }

  /** Appends the children still held to `s` (`,"subsegments":[…]`), then the closing brace if `close`. @internal */
  protected serializeChildren(s: string, close: boolean): string {
    const list = this.subsegments;
    if (list === undefined || list.length === 0) return close ? `${s}}` : s;
    s += ',"subsegments":[';
    for (let i = 0; i < list.length; i++) s += list[i].serializeItem(i > 0);
    return s + (close ? ']}' : ']');
  }
}
