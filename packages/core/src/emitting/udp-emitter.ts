import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';

import { describeValue, diag } from '../diag.js';
import { XRayConfigError } from '../errors.js';
import { resolveHost, type DaemonEndpoint } from './daemon-address.js';
import type { EmitterStats, SegmentEmitter } from './segment-emitter.js';

/** The daemon protocol's header line (with its newline), sent before every document. */
export const DAEMON_HEADER = '{"format":"json","version":1}\n';
const HEADER_BYTES = Buffer.from(DAEMON_HEADER);

/** Largest UDP payload over IPv4, and below the daemon's 64 KB read buffer. */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Largest document that fits one datagram after the header line. */
export const MAX_DOCUMENT_BYTES = MAX_DATAGRAM_BYTES - HEADER_BYTES.length;

/** Documents held while the first look-up of the daemon host runs or a burst is paced. @internal */
const MAX_QUEUED = 10_000;

/** Looks a host name up: `{ address, family }`, as `dns.lookup`. */
export type HostLookup = (host: string) => Promise<{ address: string; family: 4 | 6 }>;

/** Options of the UDP emitter. */
export interface UdpEmitterOptions {
  /** The address as configured, for messages. @default host:port */
  addressText?: string;
  /** How host names are looked up. @default `dns.lookup` with a 3-second limit */
  lookup?: HostLookup;
  /** A host name is looked up again this often (a daemon behind DNS may move). @default 60000 */
  reresolveMs?: number;
  /** First wait before looking up again after a failure; doubles up to 30 s. @default 1000 */
  retryMs?: number;
  /**
   * Pacing: at most this many datagrams, and `burstBytes` bytes, leave per millisecond on average; the
   * rest wait. @default 32 datagrams, 64 KiB
   */
  burstDatagrams?: number;
  burstBytes?: number;
  /** Milliseconds for pacing. @default performance.now @internal */
  now?: () => number;
}

/**
 * Consecutive send errors (ICMP port unreachable on a connected socket: nothing listens at that
 * address) after which a host name is looked up again at once. @internal
 */
const ERRORS_BEFORE_RELOOKUP = 5;
const MAX_RETRY_MS = 30_000;

/**
 * Sends each document as one UDP datagram (`{"format":"json","version":1}\n` + document) to the
 * daemon, on one connected socket that is `unref()`ed, so it never keeps the process alive.
 *
 * - Host names: looked up at start; when that fails the emitter keeps trying in the background
 *   (1 s, doubling to 30 s), logs it once, and drops and counts documents until it succeeds. A name is
 *   looked up again every minute and after repeated send errors, and the socket follows the daemon
 *   to its new address (ECS, Kubernetes).
 * - Pacing: a burst (a large segment streamed in one go) leaves at 32 datagrams or 64 KiB per
 *   millisecond on average (at most two milliseconds' worth at once), so that a daemon in another
 *   process with the system's default receive buffer keeps up; the rest waits (up to 10,000
 *   documents, then dropped and counted).
 * - Nothing is thrown to the caller; failures are counted (`stats()`) and logged once. "Sent" means
 *   handed to the kernel: a datagram the receiver drops (its buffer full) cannot be seen from here.
 */
export class UdpEmitter implements SegmentEmitter {
  private socket: Socket | undefined;
  private connectedTo: string | undefined;
  private resolving: Promise<void> | undefined;
  private firstAttempt: Promise<void> | undefined;
  private resolveFailed = false;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private errorsInRow = 0;
  /** Documents waiting to be sent: `queue[queueHead]` onwards. */
  private queue: string[] = [];
  private queueHead = 0;
  /** Pacing, a leaky bucket: what was sent and has not leaked out yet, as of `paceTime`. */
  private paceTime = 0;
  private paceBytes = 0;
  private paceCount = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly lookup: HostLookup;
  private readonly isName: boolean;
  private readonly burstDatagrams: number;
  private readonly burstBytes: number;
  private readonly now: () => number;
  private readonly reresolveMs: number;
  private readonly retryMs: number;
  private readonly addressText: string;
  private readonly counters: Required<EmitterStats> = { sent: 0, failed: 0, dropped: 0, socketErrors: 0, lookups: 0, lookupFailures: 0 };

  constructor(
    private readonly endpoint: DaemonEndpoint,
    options: UdpEmitterOptions = {},
  ) {
    this.onSent = this.onSent.bind(this);
    this.drain = this.drain.bind(this);
    this.lookup = options.lookup ?? resolveHost;
    this.isName = isIP(endpoint.host) === 0;
    this.burstDatagrams = options.burstDatagrams ?? 32;
    this.burstBytes = options.burstBytes ?? 64 * 1024;
    this.now = options.now ?? (() => performance.now());
    this.reresolveMs = options.reresolveMs ?? 60_000;
    this.retryMs = options.retryMs ?? 1000;
    this.retryDelay = this.retryMs;
    this.addressText = options.addressText ?? `${endpoint.host}:${endpoint.port}`;
  }

  /** Counters since creation. */
  stats(): Required<EmitterStats> {
    return { ...this.counters };
  }

  /** The endpoint documents go to, as configured. */
  get target(): DaemonEndpoint {
    return this.endpoint;
  }

  /** The IP address and port the socket is connected to, once it is. */
  get connectedAddress(): string | undefined {
    return this.connectedTo;
  }

  /**
   * Looks the daemon host up and connects the socket (start-up). Resolves once the first attempt is
   * over, also when a host name does not resolve yet (the emitter keeps trying). Rejects with an
   * `XRayConfigError` only when an IP address cannot be connected to (a broadcast address, say).
   */
  start(): Promise<void> {
    this.firstAttempt ??= this.connect().catch((e: Error) => {
      if (!this.isName) throw new XRayConfigError([`AWS_XRAY_DAEMON_ADDRESS "${this.addressText}": ${e.message}. Use the address of the X-Ray daemon.`]);
    });
    return this.firstAttempt;
  }

  send(document: string): void {
    if (this.closed) {
      this.counters.dropped++;
      return;
    }
    if (this.socket === undefined) {
      if (this.resolveFailed) {
        this.counters.dropped++;
        return;
      }
      this.enqueue(document);
      void this.start();
      return;
    }
    if (this.queue.length > this.queueHead) {
      this.enqueue(document);
      return;
    }
    if (this.withinBudget(document.length)) this.transmit(document);
    else this.enqueue(document);
  }

  async flush(): Promise<void> {
    if (this.firstAttempt) await this.firstAttempt.catch(() => {});
    while (this.queue.length > this.queueHead && this.socket !== undefined && !this.closed) {
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.drainTimer);
    this.counters.dropped += this.queue.length - this.queueHead;
    this.queue = [];
    this.queueHead = 0;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  // ---------------------------------------------------------------- address

  /** Looks the host up and (re)connects when the address changed. One look-up at a time. */
  private connect(): Promise<void> {
    this.resolving ??= this.resolveAndConnect().finally(() => {
      this.resolving = undefined;
    });
    return this.resolving;
  }

  private async resolveAndConnect(): Promise<void> {
    if (this.closed) return;
    try {
      this.counters.lookups++;
      let resolved: { address: string; family: 4 | 6 };
      try {
        resolved = await this.lookup(this.endpoint.host);
      } catch (e) {
        this.counters.lookupFailures++;
        throw e;
      }
      const key = `${resolved.address}:${this.endpoint.port}`;
      if (key !== this.connectedTo || this.socket === undefined) await this.openSocket(resolved, key);
    } catch (e) {
      this.onAddressFailed(e as Error);
      throw e;
    }
    this.resolveFailed = false;
    this.retryDelay = this.retryMs;
    this.errorsInRow = 0;
    if (this.isName) this.scheduleRefresh(this.reresolveMs);
  }

  private openSocket(resolved: { address: string; family: 4 | 6 }, key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = createSocket(resolved.family === 6 ? 'udp6' : 'udp4');
      socket.unref();
      // Errors not tied to one send (a connected socket learns of ICMP port-unreachable this way).
      socket.on('error', (e) => this.onSocketError(e));
      socket.connect(this.endpoint.port, resolved.address, (error?: Error) => {
        if (error) {
          socket.close();
          reject(new Error(`cannot connect to the daemon at ${resolved.address}:${this.endpoint.port}: ${error.message}`));
          return;
        }
        if (this.closed) {
          socket.close();
          resolve();
          return;
        }
        const old = this.socket;
        this.socket = socket;
        this.connectedTo = key;
        if (old) old.close();
        if (this.queue.length > this.queueHead) this.scheduleDrain(0);
        resolve();
      });
    });
  }

  private onAddressFailed(error: Error): void {
    if (this.socket === undefined) {
      // Nothing to send to: what waits is dropped, and so is what comes until a look-up succeeds.
      this.resolveFailed = true;
      this.counters.dropped += this.queue.length - this.queueHead;
      this.queue = [];
      this.queueHead = 0;
    }
    const reason = typeof error?.message === 'string' ? error.message.slice(0, 300) : describeValue(error);
    const next = this.isName ? 'trying again in the background' : 'this address cannot be used';
    const meanwhile = this.socket === undefined ? 'Documents are dropped and counted until it resolves (recorder.stats()).' : 'Documents still go to the last known address.';
    diag.error('daemon_unresolvable', `${reason} (AWS_XRAY_DAEMON_ADDRESS "${this.addressText}"); ${next}. ${meanwhile}`);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || !this.isName) return;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.retryTimer);
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    this.retryTimer = setTimeout(() => void this.connect().catch(() => {}), delay);
    this.retryTimer.unref();
  }

  private scheduleRefresh(delay: number): void {
    if (this.closed) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.connect().catch(() => {}), delay);
    this.refreshTimer.unref();
  }

  private onSocketError(error: Error): void {
    this.fail(error, 'socketErrors');
    // Repeated "nothing listens here": the daemon may have moved behind its name.
    if (this.isName && ++this.errorsInRow >= ERRORS_BEFORE_RELOOKUP && this.resolving === undefined) {
      this.errorsInRow = 0;
      void this.connect().catch(() => {});
    }
  }

  // ---------------------------------------------------------------- pacing

  /**
   * Whether a datagram of `bytes` may leave now (and counts it if so). A leaky bucket: what was sent
   * leaks out at `burstDatagrams` and `burstBytes` per millisecond, and a datagram may go while less
   * than one millisecond's worth is in it. The bucket may run up to one millisecond into credit: the
   * drain timer fires late on a busy event loop (every 1.3 ms on average in the benchmark), and without that
   * credit the emitter sent at about 24,000 a second instead of its 32,000, less than a Node 24 server
   * makes (the queue filled and documents were dropped). A burst after a pause is still at most two
   * milliseconds' worth.
   */
  private withinBudget(bytes: number): boolean {
    const now = this.now();
    const elapsed = now - this.paceTime;
    this.paceTime = now;
    if (elapsed > 0) {
      this.paceCount = Math.max(-this.burstDatagrams, this.paceCount - elapsed * this.burstDatagrams);
      this.paceBytes = Math.max(-this.burstBytes, this.paceBytes - elapsed * this.burstBytes);
    }
    if (this.paceCount >= this.burstDatagrams || this.paceBytes >= this.burstBytes) return false;
    this.paceCount++;
    this.paceBytes += bytes;
    return true;
  }

  private enqueue(document: string): void {
    if (this.queue.length - this.queueHead >= MAX_QUEUED) {
      this.counters.dropped++;
      diag.error('emit_queue_full', `More than ${MAX_QUEUED} documents are waiting to be sent; further documents are dropped and counted (recorder.stats()).`);
      return;
    }
    this.queue.push(document);
    if (this.socket !== undefined) this.scheduleDrain(1);
  }

  /** Drains after `delay` ms of real time (a turn of the event loop would not let the receiver catch up). */
  private scheduleDrain(delay: number): void {
    if (this.drainTimer !== undefined) return;
    this.drainTimer = setTimeout(this.drain, delay);
  }

  private drain(): void {
    this.drainTimer = undefined;
    if (this.socket === undefined || this.closed) return;
    const queue = this.queue;
    let i = this.queueHead;
    while (i < queue.length && this.withinBudget(queue[i].length)) this.transmit(queue[i++]);
    // A head index instead of copying the rest of the queue on every turn; compacted when half is sent.
    if (i === queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (i > queue.length / 2) {
      this.queue = queue.slice(i);
      this.queueHead = 0;
    } else {
      this.queueHead = i;
    }
    if (this.queue.length > this.queueHead) this.scheduleDrain(1);
  }

  private transmit(document: string): void {
    try {
      this.inFlight++;
      this.socket!.send([HEADER_BYTES, document], this.onSent);
    } catch (e) {
      this.inFlight = Math.max(0, this.inFlight - 1);
      this.fail(e as Error);
    }
  }

  private onSent(error: Error | null): void {
    this.inFlight--;
    if (error) this.fail(error);
    else {
      this.counters.sent++;
    }
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private fail(error: Error, counter: 'failed' | 'socketErrors' = 'failed'): void {
    this.counters[counter]++;
    diag.error(
      'emit_failed',
      `Failed to send a document to the X-Ray daemon at ${this.addressText}: ${typeof error?.message === 'string' ? error.message.slice(0, 300) : describeValue(error)}. ` +
        'Further failures are counted, not logged (see recorder.stats()).',
    );
  }
}
