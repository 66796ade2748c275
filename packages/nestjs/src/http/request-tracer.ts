import type { IncomingMessage, ServerResponse } from 'node:http';

import { TRACE_HEADER_NAME, wildcardMatch, type Recorder, type Segment } from '@xrayjs/core';

import { ANNOTATION_CLIENT_ABORTED } from '../xray.constants.js';
import type { ExcludedRoute } from '../xray-module-options.interface.js';
import { clientAddress, requestProto, requestTarget } from './request-info.js';

/** Node lower-cases incoming header names. */
const INCOMING_TRACE_HEADER = TRACE_HEADER_NAME.toLowerCase();
/** The tracer installed on a server. */
const TRACER = Symbol.for('xrayjs.nestjs.request-tracer');

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
interface TracedServer {
  emit: Emit;
  [TRACER]?: RequestTracer;
}

interface CompiledExclusion {
  test(path: string, method: string): boolean;
}

function compile(route: ExcludedRoute): CompiledExclusion {
  const withMethod = typeof route === 'object' && !(route instanceof RegExp);
  const path = withMethod ? route.path : route;
  const method = withMethod ? route.method?.toUpperCase() : undefined;
  const matchPath = path instanceof RegExp ? (p: string) => path.test(p) : (p: string) => wildcardMatch(path, p, false);
  return { test: (p, m) => (method === undefined || method === m) && matchPath(p) };
}

/**
 * Opens the segment of every HTTP request before anything else sees the request. It wraps the server's
 * `emit` for `request` events, which both Express and Fastify listen to (HTTP/1 and HTTP/2): every
 * `request` listener, whoever added it and when, then runs in the one segment of that request, and
 * the whole request (body parser, middleware, guards, pipes, interceptors, handler, exception filters,
 * the 404 handler) runs in the segment's context. The segment closes once, when the response finishes
 * or the client goes away; its flags come from the status of the final response.
 * @internal
 */
export class RequestTracer {
  private readonly exclusions: CompiledExclusion[];
  private server: TracedServer | undefined;
  private originalEmit: Emit | undefined;
  private wrapper: Emit | undefined;
  private active = false;

  constructor(
    private readonly recorder: Recorder,
    excluded: readonly ExcludedRoute[] = [],
  ) {
    this.exclusions = excluded.map(compile);
  }

  /** Traces the server's requests. `false` when another tracer already traces this server. */
  install(server: object): boolean {
    const target = server as TracedServer;
    if (typeof target.emit !== 'function') return false;
    if (target[TRACER] !== undefined) return target[TRACER] === this;
    const originalEmit = target.emit;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper is called with the server as `this`
    const tracer = this;
    // `arguments` rather than rest parameters: no array is made for the server's other events.
    const wrapper: Emit = function emit(this: unknown, event: string | symbol): boolean {
      // eslint-disable-next-line prefer-rest-params
      const args = arguments as unknown as unknown[];
      if (event !== 'request' || !tracer.active) return originalEmit.apply(this, args as never);
      let segment: Segment | undefined;
      try {
        segment = tracer.begin(args[1] as IncomingMessage, args[2] as ServerResponse);
      } catch {
        segment = undefined; // tracing never breaks the request
      }
      if (segment === undefined) return originalEmit.apply(this, args as never);
      return tracer.recorder.runWith(segment, () => originalEmit.apply(this, args as never));
    };
    target.emit = wrapper;
    Object.defineProperty(target, TRACER, { value: this, configurable: true });
    this.server = target;
    this.originalEmit = originalEmit;
    this.wrapper = wrapper;
    this.active = true;
    return true;
  }

  /** Stops tracing; puts the server's `emit` back unless something wrapped it since (then ours passes through). */
  uninstall(): void {
    const server = this.server;
    if (!server) return;
    this.active = false;
    if (server.emit === this.wrapper) server.emit = this.originalEmit!;
    delete server[TRACER];
    this.server = this.originalEmit = this.wrapper = undefined;
  }

  private begin(req: IncomingMessage, res: ServerResponse): Segment | undefined {
    const recorder = this.recorder;
    if (!recorder.enabled) return undefined;
    const target = requestTarget(req);
    const method = req.method ?? 'GET';
    let excluded = false;
    for (const e of this.exclusions) {
      if (e.test(target.path, method)) {
        excluded = true;
        break;
      }
    }
    const segment = recorder.beginRequestSegment({
      traceHeader: req.headers[INCOMING_TRACE_HEADER],
      host: target.host,
      method,
      path: target.path,
      headers: req.headers,
      // An excluded route keeps the caller's trace id for the answer and for propagation, unsampled.
      sampled: excluded ? false : undefined,
    });
    if (!segment) return undefined;
    // Every request reads its socket's peer address, sampled or not: Node caches it on the socket the
    // first time, which gives the socket another hidden class. Read only by the few sampled requests of
    // the default rule, it changed sockets' shape at random moments and sent V8 back to slower code all
    // through Node's HTTP stack (on Node 24 the default rule counted 1.32x the untraced app's
    // instructions instead of about 1.02x). Read on the first request of every connection, each socket
    // takes that shape once, at the same point; on later requests it is a cached property.
    void req.socket?.remoteAddress;
    if (segment.sampled) {
      // Only sampled requests pay for the URL and client address.
      const client = clientAddress(req);
      recorder.setRequest(segment, {
        method,
        url: `${requestProto(req, target)}://${target.host ?? 'localhost'}${target.pathAndQuery}`,
        client_ip: client.ip,
        x_forwarded_for: client.forwarded,
        user_agent: req.headers['user-agent'],
      });
    }
    if (!res.headersSent) res.setHeader(TRACE_HEADER_NAME, recorder.responseTraceHeader(segment));
    if (segment.sampled) {
      const end = (): void => {
        try {
          if (res.headersSent) {
            const length = res.getHeader('content-length');
            // The final status decides the flags, also when an exception filter answered a handled error.
            recorder.setResponse(segment, { status: res.statusCode, content_length: length === undefined ? undefined : Number(length) });
          } else if (segment.cause !== undefined) {
            // No answer went out after an exception: the request failed.
            segment.setFlag('fault');
          }
          if (!res.writableFinished) segment.putAnnotation(ANNOTATION_CLIENT_ABORTED, true);
          segment.close();
        } catch {
          // never into the request
        }
      };
      // A response emits 'close' exactly once: after 'finish' when it completed, or when the client went
      // away. (`on`, not `once`: no wrapper to allocate per request.)
      res.on('close', end);
    }
    return segment;
  }
}
