import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

import { resolveHost, type DaemonEndpoint } from '../daemon-config.js';
import { diag } from '../diag.js';
import type { EmitterStats, SegmentEmitter } from './segment-emitter.js';

/** The daemon protocol's header line (with its newline), sent before every document. */
export const DAEMON_HEADER = '{"format":"json","version":1}\n';
const HEADER_BYTES = Buffer.from(DAEMON_HEADER);

/** Largest UDP payload over IPv4, and below the daemon's 64 KB read buffer. */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Largest document that fits one datagram after the header line. */
export const MAX_DOCUMENT_BYTES = MAX_DATAGRAM_BYTES - HEADER_BYTES.length;

/** Documents held while the daemon host name is being resolved or a burst is paced. @internal */
const MAX_QUEUED = 10_000;
/**
 * Bytes sent within one millisecond before the rest waits for the next turn of the event loop: a burst
 * (a large segment streamed in one go) then reaches the daemon in slices its receive buffer can take.
 * @internal
 */
const BURST_BYTES = 64 * 1024;
/** Datagrams sent within one millisecond before the rest waits (the kernel charges each one). @internal */
const BURST_DATAGRAMS = 32;

/**
 * Sends each document as one UDP datagram (`{"format":"json","version":1}\n` + document) to the
 * daemon. One socket, created on first use and `unref()`ed, so it never keeps the process alive. Send
 * failures are counted and logged once; nothing is thrown to the caller.
 */
export class UdpEmitter implements SegmentEmitter {
  private socket: Socket | undefined;
  private resolving: Promise<void> | undefined;
  /** Documents waiting to be sent: `queue[queueHead]` onwards. */
  private queue: string[] = [];
  private queueHead = 0;
  private burstBytes = 0;
  private burstCount = 0;
  private windowStart = 0;
  private drainScheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly counters: EmitterStats = { sent: 0, failed: 0, dropped: 0, socketErrors: 0 };

  constructor(private readonly endpoint: DaemonEndpoint) {
    this.onSent = this.onSent.bind(this);
  }

  /** Counters since creation. */
  stats(): EmitterStats {
    return { ...this.counters };
  }

  /** The endpoint documents go to. */
  get target(): DaemonEndpoint {
    return this.endpoint;
  }

  /**
   * Resolves the daemon host and connects the socket (start-up), so that a bad host name shows at
   * once. A connected socket sends without a look-up per datagram, and learns when nothing listens.
   */
  async resolve(): Promise<void> {
    if (this.socket !== undefined || this.closed) return;
    this.resolving ??= resolveHost(this.endpoint.host)
      .then(
        (r) =>
          new Promise<void>((resolve, reject) => {
            const socket = createSocket(r.family === 6 ? 'udp6' : 'udp4');
            socket.unref();
            // Errors not tied to one send (a connected socket learns of ICMP port-unreachable this way).
            socket.on('error', (e) => this.fail(e, 'socketErrors'));
            socket.connect(this.endpoint.port, r.address, (error?: Error) => {
              if (error) {
                socket.close();
                reject(new Error(`cannot connect to the daemon at ${r.address}:${this.endpoint.port}: ${error.message}`));
                return;
              }
              this.socket = socket;
              if (this.queued() > 0) this.scheduleDrain();
              resolve();
            });
          }),
      )
      .catch((e: Error) => {
        this.resolving = undefined;
        this.counters.dropped += this.queued();
        this.queue = [];
        this.queueHead = 0;
        diag.error('daemon_unresolvable', `${e.message}; documents are dropped until it resolves.`);
        throw e;
      });
    return this.resolving;
  }

  send(document: string): void {
    if (this.closed) {
      this.counters.dropped++;
      return;
    }
    if (this.socket === undefined) {
      this.enqueue(document);
      this.resolve().catch(() => {});
      return;
    }
    if (this.queued() > 0) {
      this.enqueue(document);
      return;
    }
    const now = performance.now();
    if (now - this.windowStart >= 1) {
      this.windowStart = now;
      this.burstBytes = this.burstCount = 0;
    }
    if (this.burstBytes >= BURST_BYTES || this.burstCount >= BURST_DATAGRAMS) this.enqueue(document);
    else this.transmit(document);
  }

  private queued(): number {
    return this.queue.length - this.queueHead;
  }

  private enqueue(document: string): void {
    if (this.queued() >= MAX_QUEUED) {
      this.counters.dropped++;
      diag.error('emit_queue_full', `More than ${MAX_QUEUED} documents are waiting to be sent; further documents are dropped and counted (recorder.stats()).`);
      return;
    }
    this.queue.push(document);
    if (this.socket !== undefined) this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.windowStart = performance.now();
      this.burstBytes = this.burstCount = 0;
      const queue = this.queue;
      let i = this.queueHead;
      while (i < queue.length && this.burstBytes < BURST_BYTES && this.burstCount < BURST_DATAGRAMS) this.transmit(queue[i++]);
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
      if (this.queued() > 0) this.scheduleDrain();
    });
  }

  private transmit(document: string): void {
    this.burstBytes += document.length;
    this.burstCount++;
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
    else this.counters.sent++;
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
      `Failed to send a document to the X-Ray daemon at ${this.endpoint.host}:${this.endpoint.port}: ${error.message}. ` +
        'Further failures are counted, not logged (see recorder.stats()).',
    );
  }

  async flush(): Promise<void> {
    if (this.resolving && this.socket === undefined) await this.resolving.catch(() => {});
    while (this.queued() > 0 && this.socket !== undefined && !this.closed) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
