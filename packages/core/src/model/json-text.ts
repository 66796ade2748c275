import { EpochText } from '../clock.js';
import { MAX_NAME_LENGTH, quoteJson } from '../names.js';

/**
 * Fixed pieces of the documents' JSON text, cached. A document is built by string concatenation, and
 * V8 keeps every concatenation as a node of a rope until the text is encoded for sending, when it
 * copies the rope into one flat string: each piece costs its concatenation and a step of that copy
 * (about 150 instructions on Node 24, more than most fields cost to write). The pieces that repeat on
 * every request (an entity's name with the keys around it, the status fields, the shared `aws` and
 * `service` blocks) are therefore kept as single strings.
 * @internal
 */

const CACHE_LIMIT = 2000;

/** `","start_time":<seconds>`: closes the id (or trace id) before it. @internal */
export const startTimeText = new EpochText('","start_time":');
/** `,"end_time":<seconds>`. @internal */
export const endTimeText = new EpochText(',"end_time":');

/** `{"name":<name>,"id":"` and the same with a leading comma, by name. */
const heads = new Map<string, [string, string]>();

/** The start of an entity's document up to its id's opening quote; `comma` for a later item of a list. @internal */
export function entityHead(name: string, comma: boolean): string {
  let pair = heads.get(name);
  if (pair === undefined) {
    const head = `{"name":${quoteJson(name)},"id":"`;
    pair = [head, `,${head}`];
    if (heads.size < CACHE_LIMIT && name.length <= MAX_NAME_LENGTH) heads.set(name, pair);
  }
  return comma ? pair[1] : pair[0];
}

/** Index into {@link statusText}. @internal */
export function statusIndex(inProgress: boolean, fault: boolean, error: boolean, throttle: boolean, http: boolean): number {
  return (inProgress ? 1 : 0) | (fault ? 2 : 0) | (error ? 4 : 0) | (throttle ? 8 : 0) | (http ? 16 : 0);
}

/** `,"in_progress":…` with the flags that are set, then `,"http":` when an http block follows, by {@link statusIndex}. @internal */
export const statusText: readonly string[] = Array.from({ length: 32 }, (_, i) => {
  let s = i & 1 ? ',"in_progress":true' : ',"in_progress":false';
  if (i & 2) s += ',"fault":true';
  if (i & 4) s += ',"error":true';
  if (i & 8) s += ',"throttle":true';
  if (i & 16) s += ',"http":';
  return s;
});

/** `,"namespace":<namespace>}`: the end of a subsegment with nothing after its namespace, by namespace. */
const namespaceTails = new Map<string, string>();

/** The end of a subsegment document whose last field is its namespace (or `}` without one). @internal */
export function namespaceTail(namespace: string | undefined): string {
  if (namespace === undefined) return '}';
  let tail = namespaceTails.get(namespace);
  if (tail === undefined) {
    tail = `,"namespace":${quoteJson(namespace)}}`;
    if (namespaceTails.size < CACHE_LIMIT && namespace.length <= MAX_NAME_LENGTH) namespaceTails.set(namespace, tail);
  }
  return tail;
}

/** JSON text of blocks shared by many segments (`aws`, `service`), serialized once per object. */
const blockJson = new WeakMap<object, string>();

/** `JSON.stringify(value)` of a shared block, once per object. @internal */
export function sharedJson(value: object): string {
  let json = blockJson.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    blockJson.set(value, json);
  }
  return json;
}

/** `,"aws":…,"service":…` of a pair of shared blocks, once per pair (a segment factory hands out one pair). */
const awsServiceJson = new WeakMap<object, { service: object; json: string }>();

/** The `aws` and `service` fields of a segment whose two blocks are shared. @internal */
export function awsAndServiceText(aws: object, service: object): string {
  const hit = awsServiceJson.get(aws);
  if (hit !== undefined && hit.service === service) return hit.json;
  const json = `,"aws":${sharedJson(aws)},"service":${sharedJson(service)}`;
  awsServiceJson.set(aws, { service, json });
  return json;
}
