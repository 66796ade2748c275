import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';

import { describeValue, diag } from '../../diag.js';
import type { Subsegment } from '../../model/subsegment.js';
import { TRACE_HEADER_NAME } from '../../propagation/trace-header.js';
import type { Instrumentation } from '../instrumentation.js';
import { beginCall, calleeTraced, callContext, callHeader, callTraceparent, callUrl } from '../remote-call.js';

const TRACE_HEADER = TRACE_HEADER_NAME.toLowerCase();

/** The subsegment of each traced request, until it is closed. */
const calls = new WeakMap<ClientRequest, Subsegment>();

type RequestFn = (...args: unknown[]) => ClientRequest;
interface Patched {
  readonly module: { request: RequestFn; get: RequestFn };
  readonly request: RequestFn;
  readonly get: RequestFn;
  readonly wrapper: RequestFn;
}
let patched: Patched[] = [];

function traceRequest(original: RequestFn, protocol: 'http:' | 'https:'): RequestFn {
  return function request(this: unknown, ...args: unknown[]): ClientRequest {
    const context = callContext('http');
    if (context === undefined) return original.apply(this, args);
    const startTime = context.sampled ? context.parent.segment.now() : undefined;
    const req = original.apply(this, args);
    try {
      let sub: Subsegment | undefined;
      if (context.sampled) {
        const host = typeof req.host === 'string' ? req.host : 'localhost';
        sub = beginCall(context, host, 'remote', startTime);
        sub.setHttpRequest({ method: req.method, url: callUrl(protocol, hostWithPort(req, host), req.path) });
        calls.set(req, sub);
        // Without a response or an error (req.destroy()), the request still ends here.
        req.on('close', () => closeCall(req, sub!));
      }
      // A header the caller set stays; with headers already written (given as an array) there is no room.
      if (!req.headersSent && req.getHeader(TRACE_HEADER) === undefined) {
        const header = callHeader(context, sub);
        if (header !== undefined) req.setHeader(TRACE_HEADER_NAME, header);
        const traceparent = callTraceparent(context, sub);
        if (traceparent !== undefined && req.getHeader('traceparent') === undefined) req.setHeader('traceparent', traceparent);
      }
    } catch (e) {
      diag.warn('http_instrumentation_failed', `An outgoing HTTP call could not be traced: ${describeValue(e)}`);
    }
    return req;
  };
}

function hostWithPort(req: ClientRequest, host: string): string {
  try {
    const header = req.getHeader('host');
    if (typeof header === 'string' && header.length > 0) return header;
  } catch {
    // the host alone
  }
  return host;
}

function closeCall(req: ClientRequest, sub: Subsegment): void {
  if (sub.closed) return;
  calls.delete(req);
  if (sub.httpResponse === undefined && sub.cause === undefined) sub.addError(new Error('The request closed before a response arrived (aborted or destroyed).'));
  sub.close();
}

/** Response headers arrived: record them, and close the subsegment when the body has been read. */
function onResponse(message: unknown): void {
  const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
  const sub = calls.get(request);
  if (sub === undefined) return;
  try {
    const length = response.headers['content-length'];
    sub.setHttpResponse({ status: response.statusCode, content_length: length === undefined ? undefined : Number(length) });
    if (calleeTraced(sub, response.headers[TRACE_HEADER]) && sub.httpRequest) sub.httpRequest.traced = true;
    // 'close' follows 'end', and also comes when the body is cut off; listening changes nothing of the flow.
    response.on('close', () => {
      if (!response.complete && sub.cause === undefined) sub.addError(new Error('The response was cut off before its end.'));
      calls.delete(request);
      sub.close();
    });
  } catch (e) {
    diag.warn('http_instrumentation_failed', `An HTTP response could not be recorded: ${describeValue(e)}`);
  }
}

function onError(message: unknown): void {
  const { request, error } = message as { request: ClientRequest; error: unknown };
  const sub = calls.get(request);
  if (sub === undefined || sub.closed) return;
  sub.addError(error);
  // Before a response: the request is over; during a body: the response's close closes it.
  if (sub.httpResponse === undefined) {
    calls.delete(request);
    sub.close();
  }
}

/**
 * `node:http` and `node:https` (and what is built on them: axios, `@nestjs/axios`, got, node-fetch 2,
 * the AWS SDK's HTTP handler): each outgoing request is a `remote` subsegment named after the host,
 * with `http.request` (method, URL without the query string), `http.response` (status, content length)
 * and the status flags; connection errors, resets, aborts and timeouts are faults with the error.
 * Every call carries `X-Amzn-Trace-Id` (a header the caller set is left alone).
 *
 * `request` and `get` of both modules are wrapped (and `syncBuiltinESMExports()` called, so that ES
 * module named imports see the wrappers), because the channel that would let a header be added before
 * the request is written, `http.client.request.created`, exists only on newer Node.js lines; responses
 * and errors come from the built-in channels `http.client.response.finish` and
 * `http.client.request.error`. No listener is added that would change how a request behaves: no
 * `response` or `error` listener, and the body is never read.
 * @internal
 */
export const nodeHttpInstrumentation: Instrumentation = {
  name: 'http',
  covers: 'node:http and node:https (axios, @nestjs/axios, got, node-fetch 2, ...)',
  versions: 'Node.js 20.19+, 22.12+, 24',
  hook: 'patch (http/https request, get) + channels (http.client.response.finish, http.client.request.error)',
  enable() {
    if (patched.length > 0) return;
    for (const [module, protocol] of [
      [http, 'http:'],
      [https, 'https:'],
    ] as const) {
      const target = module as unknown as { request: RequestFn; get: RequestFn };
      const original = { request: target.request, get: target.get };
      const wrapper = traceRequest(original.request, protocol);
      target.request = wrapper;
      // Node's get() is request() then end(); written here so that the header goes in before end().
      target.get = function get(this: unknown, ...args: unknown[]): ClientRequest {
        const req = target.request.apply(this, args);
        req.end();
        return req;
      };
      patched.push({ module: target, request: original.request, get: original.get, wrapper });
    }
    syncBuiltinESMExports();
    subscribe('http.client.response.finish', onResponse);
    subscribe('http.client.request.error', onError);
  },
  disable() {
    if (patched.length === 0) return;
    for (const p of patched) {
      if (p.module.request === p.wrapper) {
        p.module.request = p.request;
        p.module.get = p.get;
      }
    }
    patched = [];
    syncBuiltinESMExports();
    unsubscribe('http.client.response.finish', onResponse);
    unsubscribe('http.client.request.error', onError);
  },
};
