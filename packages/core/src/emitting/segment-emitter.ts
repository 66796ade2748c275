/**
 * Sends finished documents somewhere. `send` gets one serialized segment or subsegment document
 * (already within the size limit) and must never throw or block.
 */
export interface SegmentEmitter {
  send(document: string): void;
  /** Resolves when everything handed to `send` so far has left. */
  flush(): Promise<void>;
  /** Flushes, then releases sockets; later sends are dropped. Idempotent. */
  shutdown(): Promise<void>;
}

/** Counters of an emitter. */
export interface EmitterStats {
  sent: number;
  failed: number;
  dropped: number;
  /** Errors the socket reported outside a send (for example: nothing listens on the daemon port). */
  socketErrors: number;
}
