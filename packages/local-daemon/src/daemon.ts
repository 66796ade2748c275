import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

import { parseDaemonAddress } from '@xrayjs/core';

import { PACKAGE_ROOT } from './package-root.js';
import { parseDatagram, type Rejection, type SegmentDocument } from './protocol.js';
import { isInvalidRequest, SamplingApi, type DefaultRule, type SamplingApiOptions } from './sampling-api.js';
import { buildServiceMap } from './service-map.js';
import { DEFAULT_LIMITS, TraceStore, type TraceQuery, type TraceSummary } from './trace-store.js';

/** Options of the local daemon. */
export interface LocalDaemonOptions {
  /**
   * Where SDKs send: `host:port` (UDP and TCP) or `tcp:host:port udp:host:port`. Port 0 picks free
   * ports. @default AWS_XRAY_DAEMON_ADDRESS, else '127.0.0.1:2000'
   */
  address?: string;
  /** Viewer host. @default '127.0.0.1' */
  viewerHost?: string;
  /** Viewer port; 0 picks a free one, `false` serves no viewer. @default 2001 */
  viewerPort?: number | false;
  /** Traces kept; the oldest are evicted past it. @default 1000 */
  maxTraces?: number;
  /** Bytes of documents kept (as received, over all traces); the oldest traces are evicted past it. @default 64 MiB */
  maxBytes?: number;
  /** Documents kept per trace; the rest are counted and the trace is shown as truncated. @default 10,000 */
  maxDocumentsPerTrace?: number;
  /**
   * Host names the viewer answers besides the loopback names (`localhost`, `*.localhost`,
   * `127.0.0.1`, `[::1]`) and `viewerHost`: any other `Host` header is refused, so that a page on a
   * name rebound to 127.0.0.1 cannot read the traces (DNS rebinding). Needed when the viewer listens on
   * all interfaces and is reached by another name.
   */
  allowedHosts?: string[];
  /** Also append every accepted document to this file (JSON lines), and load it at start. */
  file?: string;
  /** The default sampling rule handed to SDKs. @default { fixedRate: 0.05, reservoirSize: 1 } */
  samplingRule?: Partial<DefaultRule>;
  /**
   * A file of centralized sampling rules to serve (the output of `aws xray get-sampling-rules`, or an
   * array of rules); re-read when it changes. Without it the daemon serves the `Default` rule only.
   */
  samplingRulesFile?: string;
  /** Timings and paging of the sampling API (tests). */
  sampling?: Omit<SamplingApiOptions, 'rulesFile' | 'defaultRule'>;
}

/** Counters of the daemon. */
export interface DaemonStats {
  datagrams: number;
  accepted: number;
  rejected: number;
  evicted: number;
  traces: number;
  /** Bytes of the documents kept. */
  bytes: number;
  /** Bytes of the traces evicted. */
  evictedBytes: number;
  /** Documents not kept because their trace was at its limit of documents or bytes. */
  truncated: number;
  samplingRuleRequests: number;
  samplingTargetRequests: number;
}

const VIEWER_DIR = join(PACKAGE_ROOT, 'viewer');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const MAX_REJECTIONS = 100;
/** The largest request body of the sampling API (its real requests are a few KB). */
const MAX_SAMPLING_BODY = 1024 * 1024;
/** What a trace id in a URL may look like: the X-Ray form or anything short and printable. */
const TRACE_ID_IN_URL = /^[\x21-\x7e]{1,128}$/;

/**
 * A local stand-in for the AWS X-Ray daemon: it reads segment documents over UDP exactly as the
 * daemon does, answers the sampling API on TCP (the rules of a file, or the default rule), assembles traces in memory
 * (bounded) and serves a viewer and a JSON API. Start it in-process for tests, or with `xray-local`.
 *
 * @example const daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0 });
 */
export class LocalDaemon {
  readonly store: TraceStore;
  readonly rejections: Rejection[] = [];
  private readonly counters = { datagrams: 0, accepted: 0, rejected: 0, samplingRuleRequests: 0, samplingTargetRequests: 0 };
  /** The sampling API: the rules served, and each rule's reservoir split between its clients. */
  readonly samplingApi: SamplingApi;
  private udp!: Socket;
  private tcp: Server | undefined;
  private viewer: Server | undefined;
  private readonly listeners = new Set<ServerResponse>();
  private readonly waiters = new Set<() => void>();
  private notifyTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: LocalDaemonOptions) {
    this.store = new TraceStore({
      maxTraces: options.maxTraces ?? DEFAULT_LIMITS.maxTraces,
      maxBytes: options.maxBytes ?? DEFAULT_LIMITS.maxBytes,
      maxDocumentsPerTrace: options.maxDocumentsPerTrace ?? DEFAULT_LIMITS.maxDocumentsPerTrace,
    });
    this.samplingApi = new SamplingApi({ ...options.sampling, rulesFile: options.samplingRulesFile, defaultRule: options.samplingRule });
  }

  /** Starts the UDP listener, the sampling API and the viewer. */
  static async start(options: LocalDaemonOptions = {}): Promise<LocalDaemon> {
    const daemon = new LocalDaemon(options);
    await daemon.listen();
    return daemon;
  }

  private async listen(): Promise<void> {
    const address = parseDaemonAddress(this.options.address ?? process.env.AWS_XRAY_DAEMON_ADDRESS ?? '127.0.0.1:2000', { allowPortZero: true });
    if (this.options.file && existsSync(this.options.file)) this.load(this.options.file);
    try {
      this.udp = createSocket(address.udp.host.includes(':') ? 'udp6' : 'udp4');
      this.udp.on('message', (msg) => this.receive(msg));
      await new Promise<void>((resolve, reject) => {
        this.udp.once('error', (e) => reject(inUse(e, 'UDP', address.udp.host, address.udp.port, 'address')));
        this.udp.bind(address.udp.port, address.udp.host, () => {
          this.udp.removeAllListeners('error');
          resolve();
        });
      });
      try {
        this.udp.setRecvBufferSize(8 * 1024 * 1024);
      } catch {
        // the system default
      }
      this.udp.on('error', () => {});

      this.tcp = createServer((req, res) => void this.sampling(req, res));
      await listen(this.tcp, address.tcp.port, address.tcp.host).catch((e: Error) => {
        throw inUse(e, 'TCP (sampling API)', address.tcp.host, address.tcp.port, 'address');
      });

      if (this.options.viewerPort !== false) {
        const host = this.options.viewerHost ?? '127.0.0.1';
        const port = this.options.viewerPort ?? 2001;
        this.viewer = createServer((req, res) => void this.serveViewer(req, res));
        await listen(this.viewer, port, host).catch((e: Error) => {
          throw inUse(e, 'the viewer', host, port, 'viewerPort');
        });
      }
    } catch (e) {
      await this.stop().catch(() => {});
      throw e;
    }
  }

  /** `host:port` the daemon reads UDP on. */
  get udpAddress(): string {
    const a = this.udp.address();
    return `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** `host:port` of the sampling API. */
  get tcpAddress(): string {
    const a = this.tcp!.address() as { address: string; port: number };
    return `${a.address}:${a.port}`;
  }

  /** The value for an SDK's `AWS_XRAY_DAEMON_ADDRESS`. */
  get daemonAddress(): string {
    return `tcp:${this.tcpAddress} udp:${this.udpAddress}`;
  }

  /** The viewer's URL. */
  get viewerUrl(): string | undefined {
    const a = this.viewer?.address() as { address: string; port: number } | undefined;
    return a ? `http://${a.address}:${a.port}/` : undefined;
  }

  stats(): DaemonStats {
    return { ...this.counters, evicted: this.store.evicted, traces: this.store.size, bytes: this.store.bytes, evictedBytes: this.store.evictedBytes, truncated: this.store.truncated };
  }

  /** Trace summaries, newest first. */
  traces(query?: TraceQuery): TraceSummary[] {
    return this.store.query(query);
  }

  /** A trace with its assembled segment trees. */
  trace(id: string) {
    const trace = this.store.get(id);
    return trace ? { id, summary: trace.summary(), segments: trace.assemble() } : undefined;
  }

  /** The service map of the traces kept (those started since `from`, epoch seconds, when given). */
  serviceMap(from?: number) {
    const traces = this.store.all();
    return buildServiceMap(from === undefined ? traces : traces.filter((t) => t.summary().start >= from));
  }

  /** Resolves once `predicate` holds (checked after every datagram), or rejects after `timeoutMs`. */
  waitFor(predicate: (daemon: LocalDaemon) => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`LocalDaemon.waitFor: not satisfied after ${timeoutMs} ms (${this.store.size} traces)`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Resolves once `count` traces are kept. */
  waitForTraces(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor((d) => d.store.size >= count, timeoutMs);
  }

  /** Forgets all traces, rejections and the sampling statistics (the viewer's Clear). */
  clear(): void {
    this.store.clear();
    this.rejections.length = 0;
    this.samplingApi.clearStatistics();
    this.notify();
  }

  async stop(): Promise<void> {
    clearTimeout(this.notifyTimer);
    for (const res of this.listeners) res.end();
    this.listeners.clear();
    await Promise.all([
      new Promise<void>((r) => {
        try {
          this.udp.close(() => r());
        } catch {
          r(); // never bound (start failed)
        }
      }),
      this.tcp ? close(this.tcp) : Promise.resolve(),
      this.viewer ? close(this.viewer) : Promise.resolve(),
    ]);
  }

  /** Handles one datagram; never throws. */
  receive(message: Buffer): void {
    this.counters.datagrams++;
    let result: ReturnType<typeof parseDatagram>;
    try {
      result = parseDatagram(message);
    } catch (e) {
      result = { rejection: { bytes: message.length, reason: `unreadable: ${(e as Error).message}`, excerpt: '' } };
    }
    if ('rejection' in result) {
      this.counters.rejected++;
      this.rejections.push({ at: Date.now(), ...result.rejection });
      if (this.rejections.length > MAX_REJECTIONS) this.rejections.shift();
    } else {
      this.accept(result.doc, message.length);
      if (this.options.file) {
        try {
          appendFileSync(this.options.file, `${JSON.stringify(result.doc)}\n`);
        } catch {
          // persistence is best effort; the trace is kept in memory
        }
      }
    }
    if (this.waiters.size > 0) for (const check of [...this.waiters]) check();
    this.notify();
  }

  private accept(doc: SegmentDocument, bytes: number): void {
    this.counters.accepted++;
    this.store.add(doc, Date.now(), bytes);
  }

  private load(file: string): void {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        this.store.add(JSON.parse(line) as SegmentDocument, Date.now(), Buffer.byteLength(line));
      } catch {
        // a torn last line is skipped
      }
    }
  }

  /** Live updates for the viewer, at most ten a second. */
  private notify(): void {
    if (this.notifyTimer || this.listeners.size === 0) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      const data = `event: update\ndata: ${JSON.stringify(this.stats())}\n\n`;
      for (const res of this.listeners) res.write(data);
    }, 100);
    this.notifyTimer.unref();
  }

  private async sampling(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // Errors as the AWS API writes them: the type in the body's __type and in X-Amzn-ErrorType.
    const fail = (status: number, type: string, message: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, ...extra });
      res.end(JSON.stringify({ __type: type, message }));
    };
    try {
      if (req.method !== 'POST' || (req.url !== '/GetSamplingRules' && req.url !== '/SamplingTargets')) {
        return fail(404, 'UnknownOperationException', `The local daemon answers POST /GetSamplingRules and POST /SamplingTargets, not ${req.method} ${req.url}`);
      }
      const text = await readBody(req, MAX_SAMPLING_BODY);
      if (text === undefined) {
        return fail(413, 'RequestEntityTooLargeException', `the request body is over ${MAX_SAMPLING_BODY} bytes`, { connection: 'close' });
      }
      let body: unknown;
      try {
        body = text.trim() === '' ? undefined : JSON.parse(text);
      } catch {
        return fail(400, 'InvalidRequestException', 'the request body is not JSON');
      }
      if (req.url === '/GetSamplingRules') {
        this.counters.samplingRuleRequests++;
        return send(200, this.samplingApi.getSamplingRules(body));
      }
      this.counters.samplingTargetRequests++;
      const answer = this.samplingApi.getSamplingTargets(body);
      this.notify();
      return send(200, answer);
    } catch (e) {
      if (isInvalidRequest(e)) return fail(400, 'InvalidRequestException', e.message);
      return fail(500, 'InternalFailure', String(e));
    }
  }

  /** Whether the viewer answers a request for `Host: header`: loopback names, `viewerHost`, `allowedHosts`. */
  private hostAllowed(header: string | undefined): boolean {
    const name = hostName(header);
    if (name === undefined) return false;
    if (name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name)) return true;
    const configured = (this.options.viewerHost ?? '127.0.0.1').toLowerCase();
    const allowed = [configured.includes(':') ? `[${configured}]` : configured, ...(this.options.allowedHosts ?? []).map((h) => h.toLowerCase())];
    return allowed.includes(name);
  }

  /**
   * Whether a state-changing request comes from the viewer itself: a JSON body (a plain form or a
   * `text/plain` body from another site cannot send one without CORS, which the viewer never allows),
   * and no `Origin` or `Sec-Fetch-Site` that names another site.
   */
  private sameOrigin(req: IncomingMessage): string | undefined {
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return 'a state-changing request needs content-type: application/json';
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${site} request cannot change the viewer's state`;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return `a request from ${origin} cannot change the viewer's state`;
    return undefined;
  }

  private async serveViewer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://viewer');
    const json = (body: unknown, status = 200) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (!this.hostAllowed(req.headers.host)) {
      // DNS rebinding: a page on another name resolved to this address must not read the traces.
      return json({ message: `the viewer answers requests for localhost, 127.0.0.1, [::1] and ${this.options.viewerHost ?? '127.0.0.1'}, not for ${JSON.stringify(req.headers.host ?? '')}; add the name with --allow-host (the allowedHosts option)` }, 403);
    }
    try {
      if (url.pathname === '/api/traces') {
        const q = url.searchParams;
        const num = (k: string) => (q.get(k) ? Number(q.get(k)) : undefined);
        return json({
          traces: this.traces({
            service: q.get('service') || undefined,
            status: q.get('status') || undefined,
            errors: q.get('errors') === '1' || q.get('errors') === 'true',
            flag: ((f) => (f === 'fault' || f === 'error' || f === 'throttle' ? f : undefined))(q.get('flag')),
            annotation: q.get('annotation') || undefined,
            q: q.get('q')?.slice(0, 200) || undefined,
            calls: q.get('calls')?.slice(0, 200) || undefined,
            minDuration: Number.isFinite(num('min')) ? num('min') : undefined,
            maxDuration: Number.isFinite(num('max')) ? num('max') : undefined,
            from: num('from'),
            to: num('to'),
            limit: Math.min(Math.max(Number.isFinite(num('limit')) ? num('limit')! : 500, 1), 100_000),
          }),
          services: [...new Set(this.store.all().flatMap((t) => t.services()))].sort(),
          stats: this.stats(),
        });
      }
      const traceMatch = /^\/api\/traces\/([^/]+)$/.exec(url.pathname);
      if (traceMatch) {
        let id: string;
        try {
          id = decodeURIComponent(traceMatch[1]);
        } catch {
          return json({ message: 'the trace id in the URL is not valid percent-encoding' }, 400);
        }
        if (!TRACE_ID_IN_URL.test(id)) return json({ message: 'not a trace id' }, 400);
        const trace = this.trace(id);
        return trace ? json(trace) : json({ message: 'no such trace' }, 404);
      }
      if (url.pathname === '/api/map') {
        const from = Number(url.searchParams.get('from'));
        return json(this.serviceMap(url.searchParams.get('from') && Number.isFinite(from) ? from : undefined));
      }
      if (url.pathname === '/api/sampling') {
        return json({ rules: this.samplingApi.report(), problem: this.samplingApi.fileProblem, stats: this.stats() });
      }
      if (url.pathname === '/api/stats') return json({ stats: this.stats(), rejections: this.rejections.slice(-50).reverse() });
      if (url.pathname === '/api/clear') {
        if (req.method !== 'POST') return json({ message: 'POST only' }, 405);
        const refused = this.sameOrigin(req);
        if (refused !== undefined) return json({ message: refused }, refused.startsWith('a state-changing') ? 415 : 403);
        req.resume();
        this.clear();
        return json({ ok: true });
      }
      if (url.pathname === '/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(`event: update\ndata: ${JSON.stringify(this.stats())}\n\n`);
        this.listeners.add(res);
        req.on('close', () => this.listeners.delete(res));
        return;
      }
      const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      if (!/^[a-z0-9-]+\.(html|js|css|svg)$/.test(file)) return json({ message: 'not found' }, 404);
      const body = readFileSync(join(VIEWER_DIR, file));
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch (e) {
      json({ message: String(e) }, (e as { code?: string }).code === 'ENOENT' ? 404 : 500);
    }
  }
}

/** Thrown by `LocalDaemon.start()` when an address it needs is taken. */
export class AddressInUseError extends Error {
  override readonly name = 'AddressInUseError';
  readonly code = 'EADDRINUSE';
}

/** An `EADDRINUSE` as a message that says which address and how to move; other errors unchanged. */
function inUse(error: Error, what: string, host: string, port: number, option: 'address' | 'viewerPort'): Error {
  if ((error as { code?: string }).code !== 'EADDRINUSE') return error;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const move =
    option === 'address'
      ? `another X-Ray daemon or xray-local may be running; use another address with -a (the address option, or AWS_XRAY_DAEMON_ADDRESS), for example -a 127.0.0.1:${port + 100}, and point the app's AWS_XRAY_DAEMON_ADDRESS at it`
      : `use another port with -p (the viewerPort option), for example -p ${port + 100}`;
  return new AddressInUseError(`${what} ${where} is already in use: ${move}.`);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((r) => server.close(() => r()));
}

/**
 * The body of a request, or `undefined` once it grows past `limit` bytes: the rest is read and
 * dropped (not kept), so that the client still gets the answer (413) instead of a reset.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
      } else if (!over) chunks.push(c);
      // A client that keeps sending far past the limit is cut off.
      if (size > 64 * limit) req.destroy();
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The host name of a `Host` header, lower case, without its port (`[::1]:2001` is `[::1]`). */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? undefined : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}
