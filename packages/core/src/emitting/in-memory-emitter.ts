import type { SegmentEmitter } from './segment-emitter.js';

/** Keeps documents in memory, parsed: for unit tests of code that uses the recorder. */
export class InMemoryEmitter implements SegmentEmitter {
  /** Every document sent, in order. */
  readonly documents: Record<string, unknown>[] = [];
  /** The serialized form of each document. */
  readonly raw: string[] = [];

  send(document: string): void {
    this.raw.push(document);
    this.documents.push(JSON.parse(document) as Record<string, unknown>);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** Forgets what was sent. */
  clear(): void {
    this.documents.length = 0;
    this.raw.length = 0;
  }
}
