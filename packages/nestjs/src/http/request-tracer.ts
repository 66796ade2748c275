import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { recorder, TRACE_HEADER_NAME, wildcardMatch, type Segment } from '@xrayjs/core';

import { ANNOTATION_CLIENT_ABORTED } from './xray.constants.js';
import type { ExcludedRoute } from './xray-module-options.interface.js';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const ORIGINAL = Symbol.for('xrayjs.nestjs.original-listener');
/** Node lower-cases incoming header names. */
const INCOMING_TRACE_HEADER = TRACE_HEADER_NAME.toLowerCase();

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
 * Opens the segment of every HTTP request before anything else sees the request: it wraps the
 * Node server's `request` listeners, which both Express and Fastify install. The whole request (body
 * parser, middleware, guards, pipes, interceptors, handler, exception filters, the 404 handler) then
 * runs in the segment's context, and the segment closes once, when the response finishes or the
 * client goes away.
 * @internal
 */
export class RequestTracer {
  private readonly exclusions: CompiledExclusion[];
  private server: Server | undefined;

  constructor(excluded: readonly ExcludedRoute[] = []) {
    this.exclusions = excluded.map(compile);
  }

  /** Wraps the server's request listeners (idempotent). */
  install(server: Server): void {
    this.server = server;
    const listeners = server.listeners('request') as RequestListener[];
    for (const listener of listeners) {
      if ((listener as { [ORIGINAL]?: RequestListener })[ORIGINAL]) continue;
      server.removeListener('request', listener);
      server.on('request', this.wrap(listener));
    }
  }

  /** Puts the original listeners back. */
  uninstall(): void {
    const server = this.server;
    if (!server) return;
    for (const listener of server.listeners('request') as RequestListener[]) {
      const original = (listener as { [ORIGINAL]?: RequestListener })[ORIGINAL];
      if (!original) continue;
      server.removeListener('request', listener);
      server.on('request', original);
    }
    this.server = undefined;
  }

  private wrap(listener: RequestListener): RequestListener {
    const wrapped = (req: IncomingMessage, res: ServerResponse): void => {
      let segment: Segment | undefined;
      try {
        segment = this.begin(req, res);
      } catch {
        segment = undefined; // tracing never breaks the request
      }
      if (segment === undefined) return listener.call(this.server, req, res);
      recorder.runWith(segment, () => listener.call(this.server, req, res));
    };
    Object.defineProperty(wrapped, ORIGINAL, { value: listener });
    return wrapped;
  }

  private begin(req: IncomingMessage, res: ServerResponse): Segment | undefined {
    if (!recorder.enabled) return undefined;
    const headers = req.headers;
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? 'GET';
    const host = headers.host;
    let excluded = false;
    for (const e of this.exclusions) {
      if (e.test(path, method)) {
        excluded = true;
        break;
      }
    }
    const segment = recorder.beginRequestSegment({
      traceHeader: headers[INCOMING_TRACE_HEADER],
      host,
      method,
      path,
      // An excluded route keeps the caller's trace id for the answer and for propagation, unsampled.
      sampled: excluded ? false : undefined,
    });
    if (!segment) return undefined;
    if (segment.sampled) {
      // Only sampled requests pay for the URL and client address.
      const xff = headers['x-forwarded-for'];
      const forwarded = typeof xff === 'string' && xff.length > 0 ? xff.split(',')[0].trim() : undefined;
      const proto = (headers['x-forwarded-proto'] as string | undefined)?.split(',')[0].trim() ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
      recorder.setRequest(segment, {
        method,
        url: `${proto}://${host ?? 'localhost'}${rawUrl}`,
        client_ip: forwarded ?? req.socket.remoteAddress,
        x_forwarded_for: forwarded !== undefined,
        user_agent: headers['user-agent'],
      });
    }
    return this.answer(segment, res);
  }

  private answer(segment: Segment, res: ServerResponse): Segment {
    if (!res.headersSent) res.setHeader(TRACE_HEADER_NAME, recorder.responseTraceHeader(segment));
    if (segment.sampled) {
      const end = (): void => {
        try {
          if (res.headersSent) {
            const length = res.getHeader('content-length');
            recorder.setResponse(segment, {
              status: res.statusCode,
              content_length: length === undefined ? undefined : Number(length),
            });
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
