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

/**
 * Counters of an emitter. `sent` counts datagrams the kernel accepted: UDP has no acknowledgement, so a
 * datagram the receiver drops (its receive buffer full, or nothing listening) cannot be told from one
 * it read, except through `socketErrors` when the receiver's host answers "port unreachable".
 */
export interface EmitterStats {
  sent: number;
  /** Sends the kernel refused (for example a datagram too large for the interface). */
  failed: number;
  /** Documents never handed to the kernel: no address yet, queue full, or sent after shutdown. */
  dropped: number;
  /** Errors the socket reported outside a send (for example: nothing listens on the daemon port). */
  socketErrors: number;
  /** Look-ups of the daemon host name, and how many failed. */
  lookups?: number;
  lookupFailures?: number;
}
