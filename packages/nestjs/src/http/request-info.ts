import type { IncomingHttpHeaders } from 'node:http';

/** Where a request was sent, as the server saw it. @internal */
export interface RequestTarget {
  /** The host (with its port, if the client sent one): Host, `:authority` under HTTP/2, or the absolute-form target's. */
  readonly host: string | undefined;
  /** The path without the query string. */
  readonly path: string;
  /** The path with the query string. */
  readonly pathAndQuery: string;
  /** The scheme of an absolute-form target (`http` in `GET http://h/p`), lower-cased. */
  readonly scheme: string | undefined;
}

/** `scheme://` at the start of a request target (the absolute form of RFC 9112, as proxies send it). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** What a Node HTTP/1 or HTTP/2 (compatibility API) request gives. @internal */
export interface RawRequest {
  url?: string;
  headers: IncomingHttpHeaders;
  socket?: { encrypted?: boolean; remoteAddress?: string } | null;
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * Reads the request target: `GET /p?q` with a Host header, an HTTP/2 request (`:authority`,
 * `:scheme`, `:path`), or an absolute-form target `GET http://h/p` (whose host wins over Host, as
 * RFC 9112 says).
 * @internal
 */
export function requestTarget(req: RawRequest): RequestTarget {
  const headers = req.headers;
  let target = typeof req.url === 'string' && req.url.length > 0 ? req.url : '/';
  let host = first(headers.host) ?? first(headers[':authority']);
  let scheme: string | undefined;
  if (ABSOLUTE_FORM.test(target)) {
    const afterScheme = target.indexOf('://') + 3;
    scheme = target.slice(0, afterScheme - 3).toLowerCase();
    let end = afterScheme;
    while (end < target.length && target[end] !== '/' && target[end] !== '?') end++;
    const authority = target.slice(afterScheme, end);
    const at = authority.lastIndexOf('@');
    host = (at === -1 ? authority : authority.slice(at + 1)) || host;
    target = target.slice(end) || '/';
    if (target[0] === '?') target = `/${target}`;
  }
  const q = target.indexOf('?');
  return { host, path: q === -1 ? target : target.slice(0, q), pathAndQuery: target, scheme };
}

/**
 * `http` or `https`: `X-Forwarded-Proto`, else the absolute-form target's scheme, else `:scheme` under
 * HTTP/2, else the socket. Only sampled requests need it (for the URL), so it is apart from
 * {@link requestTarget}, which every request pays for. @internal
 */
export function requestProto(req: RawRequest, target: RequestTarget): string {
  const forwardedProto = first(req.headers['x-forwarded-proto'])?.split(',')[0].trim();
  return forwardedProto || target.scheme || first(req.headers[':scheme']) || (req.socket?.encrypted ? 'https' : 'http');
}

/** The client's address: the first `X-Forwarded-For` entry, else the socket's. @internal */
export function clientAddress(req: RawRequest): { ip: string | undefined; forwarded: boolean } {
  const xff = first(req.headers['x-forwarded-for']);
  const forwarded = xff !== undefined ? xff.split(',')[0].trim() : undefined;
  if (forwarded) return { ip: forwarded, forwarded: true };
  return { ip: req.socket?.remoteAddress, forwarded: false };
}
