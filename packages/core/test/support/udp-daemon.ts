import { createSocket, type Socket } from 'node:dgram';

import { validateSegmentDocument } from './conformance.js';

/** One datagram as the daemon would read it. */
export interface Received {
  bytes: number;
  header: string;
  doc: Record<string, unknown>;
  valid: boolean;
  errors: unknown;
}

/**
 * A real UDP socket standing in for the X-Ray daemon: it reads every datagram, splits the header line
 * from the document at the first newline (as the daemon does), parses the document and validates it
 * against AWS's schema.
 */
export class TestDaemon {
  readonly received: Received[] = [];
  readonly broken: { bytes: number; reason: string }[] = [];
  /** Every datagram since start that was broken or failed the schema; `clear()` keeps these. */
  readonly faults: { id?: unknown; problem: unknown }[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    readonly host: string,
  ) {}

  static async start(type: 'udp4' | 'udp6' = 'udp4', receiveBuffer = 8 * 1024 * 1024, bindTo: { host?: string; port?: number } = {}): Promise<TestDaemon> {
    const socket = createSocket(type);
    const host = bindTo.host ?? (type === 'udp4' ? '127.0.0.1' : '::1');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(bindTo.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A large receive buffer (the sender shares this event loop), unless a test asks for the default (0).
    try {
      if (receiveBuffer > 0) socket.setRecvBufferSize(receiveBuffer);
    } catch {
      // keep the system default
    }
    const daemon = new TestDaemon(socket, socket.address().port, host);
    socket.on('message', (msg) => daemon.onMessage(msg));
    return daemon;
  }

  /** The address in `AWS_XRAY_DAEMON_ADDRESS` form. */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  private onMessage(msg: Buffer): void {
    const text = msg.toString('utf8');
    const nl = text.indexOf('\n');
    if (nl === -1) {
      this.broken.push({ bytes: msg.length, reason: 'no header line' });
      this.faults.push({ problem: 'no header line' });
    } else {
      try {
        const doc = JSON.parse(text.slice(nl + 1)) as Record<string, unknown>;
        const { valid, errors } = validateSegmentDocument(doc);
        this.received.push({ bytes: msg.length, header: text.slice(0, nl), doc, valid, errors });
        if (!valid) this.faults.push({ id: doc.id, problem: errors });
      } catch (e) {
        this.broken.push({ bytes: msg.length, reason: (e as Error).message });
        this.faults.push({ problem: (e as Error).message });
      }
    }
    this.waiters = this.waiters.filter((w) => {
      if (this.received.length + this.broken.length >= w.count) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  /** Resolves once `count` datagrams have arrived (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs = 5000): Promise<void> {
    if (this.received.length + this.broken.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`expected ${count} datagrams, got ${this.received.length + this.broken.length}`)),
        timeoutMs,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Waits until no datagram arrived for `quietMs`. */
  async settle(quietMs = 100): Promise<void> {
    let last = -1;
    while (last !== this.received.length + this.broken.length) {
      last = this.received.length + this.broken.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  }

  docs(): Record<string, unknown>[] {
    return this.received.map((r) => r.doc);
  }

  clear(): void {
    this.received.length = 0;
    this.broken.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
