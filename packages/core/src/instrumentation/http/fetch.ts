import { subscribe, unsubscribe } from 'node:diagnostics_channel';

import { describeValue, diag } from '../../diag.js';
import type { Subsegment } from '../../model/subsegment.js';
import { TRACE_HEADER_NAME } from '../../propagation/trace-header.js';
import type { Instrumentation } from '../instrumentation.js';
import { beginCall, calleeTraced, callContext, callHeader, callTraceparent, callUrl } from '../remote-call.js';

const TRACE_HEADER = TRACE_HEADER_NAME.toLowerCase();

/** What undici's channels pass as `request` (undici 5.12+; global fetch is undici). */
interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  path?: string;
  /** undici 6+: [name, value, name, value, ...]; undici 5: `name: value\r\n` text. */
  headers?: unknown;
  addHeader?(name: string, value: string): void;
}

/** What `undici:request:headers` passes as `response`: header names and values as Buffers, in pairs. */
interface UndiciResponse {
  statusCode?: number;
  headers?: (Buffer | string)[];
}

const calls = new WeakMap<object, Subsegment>();

function hasHeader(headers: unknown, name: string): boolean {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return true;
    return false;
  }
  return typeof headers === 'string' && headers.toLowerCase().includes(`${name}:`);
}

function headerValue(headers: UndiciResponse['headers'], name: string): string | undefined {
  if (!Array.isArray(headers)) return undefined;
  for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
  return undefined;
}

function onCreate(message: unknown): void {
  const request = (message as { request: UndiciRequest }).request;
  // Runs where fetch() or undici's request() was called: the caller's trace context.
  const context = callContext('fetch');
  if (context === undefined) return;
  try {
    let sub: Subsegment | undefined;
    if (context.sampled) {
      const origin = new URL(String(request.origin));
      sub = beginCall(context, origin.hostname, 'remote');
      sub.setHttpRequest({ method: request.method, url: callUrl(origin.protocol, origin.host, request.path ?? '/') });
      calls.set(request, sub);
    }
    if (typeof request.addHeader === 'function' && !hasHeader(request.headers, TRACE_HEADER)) {
      const header = callHeader(context, sub);
      if (header !== undefined) request.addHeader(TRACE_HEADER_NAME, header);
      const traceparent = callTraceparent(context, sub);
      if (traceparent !== undefined && !hasHeader(request.headers, 'traceparent')) request.addHeader('traceparent', traceparent);
    }
  } catch (e) {
    diag.warn('fetch_instrumentation_failed', `An outgoing fetch/undici call could not be traced: ${describeValue(e)}`);
  }
}

function onHeaders(message: unknown): void {
  const { request, response } = message as { request: object; response: UndiciResponse };
  const sub = calls.get(request);
  if (sub === undefined) return;
  const length = headerValue(response.headers, 'content-length');
  sub.setHttpResponse({ status: response.statusCode, content_length: length === undefined ? undefined : Number(length) });
  if (calleeTraced(sub, headerValue(response.headers, TRACE_HEADER)) && sub.httpRequest) sub.httpRequest.traced = true;
}

function onTrailers(message: unknown): void {
  const sub = calls.get((message as { request: object }).request);
  if (sub === undefined) return;
  calls.delete((message as { request: object }).request);
  sub.close();
}

function onError(message: unknown): void {
  const { request, error } = message as { request: object; error: unknown };
  const sub = calls.get(request);
  if (sub === undefined) return;
  calls.delete(request);
  sub.addError(error);
  sub.close();
}

const CHANNELS: [string, (message: unknown) => void][] = [
  ['undici:request:create', onCreate],
  ['undici:request:headers', onHeaders],
  ['undici:request:trailers', onTrailers],
  ['undici:request:error', onError],
];
let enabled = false;

/**
 * Node's global `fetch` and the `undici` package (request, stream, pipeline, fetch, Pool and Agent
 * dispatchers): each request is a `remote` subsegment named after the host, from creation to the end
 * of the response body (`undici:request:trailers`), with the same `http` blocks, flags and errors as
 * `http`, and `X-Amzn-Trace-Id` added through `request.addHeader`. Diagnostics channels only: undici
 * publishes them (5.12+), and every copy of undici in the process (Node's own, an installed one)
 * publishes under the same names.
 * @internal
 */
export const fetchInstrumentation: Instrumentation = {
  name: 'fetch',
  covers: 'global fetch and the undici package (request, stream, pipeline, fetch; Pool, Agent)',
  versions: 'undici 5.12+ (global fetch of Node.js 20, 22, 24; undici 7 tested)',
  hook: 'channels (undici:request:create, :headers, :trailers, :error)',
  enable() {
    if (enabled) return;
    enabled = true;
    for (const [name, fn] of CHANNELS) subscribe(name, fn);
  },
  disable() {
    if (!enabled) return;
    enabled = false;
    for (const [name, fn] of CHANNELS) unsubscribe(name, fn);
  },
};
