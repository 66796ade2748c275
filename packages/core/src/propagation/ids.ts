import { randomFillSync } from 'node:crypto';

/**
 * Random bytes are drawn from the operating system's CSPRNG in blocks, written out as hex once per
 * block, and handed out in pieces of that text: an id costs a few substrings instead of a system call
 * or a string built character by character. The pieces are 8 characters long on purpose: V8 copies a
 * substring shorter than 13 characters but makes a longer one a view that keeps the whole 8 KB block
 * alive, so an application that kept one trace id of every block would keep every block.
 * @internal
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let hexPool = '';
let hexOffset = 0;

function take(chars: number): number {
  if (hexOffset + chars > hexPool.length) {
    randomFillSync(pool);
    hexPool = pool.toString('hex');
    hexOffset = 0;
  }
  const at = hexOffset;
  hexOffset += chars;
  return at;
}

/** 16 hex digits (64 random bits), as two copied 8-character pieces. */
function randomHex16(): string {
  const at = take(16);
  return hexPool.slice(at, at + 8) + hexPool.slice(at + 8, at + 16);
}

/** 24 hex digits (96 random bits), as three copied 8-character pieces. */
function randomHex24(): string {
  const at = take(24);
  return hexPool.slice(at, at + 8) + hexPool.slice(at + 8, at + 16) + hexPool.slice(at + 16, at + 24);
}

/** The id of an unsampled entity when no-op ids are in use (the Python SDK's `AWS_XRAY_NOOP_ID`). */
export const NOOP_ENTITY_ID = '0000000000000000';
/** The no-op trace id of the Python SDK. */
export const NOOP_TRACE_ID = '1-00000000-000000000000000000000000';

/** A new segment or subsegment id: 16 lowercase hex digits from 64 random bits. */
export function newEntityId(): string {
  return randomHex16();
}

let cachedEpoch = -1;
let cachedEpochHex = '';

/** A new trace id `1-<8 hex digits of epoch seconds>-<24 hex digits from 96 random bits>`. */
export function newTraceId(nowMs: number = Date.now()): string {
  const epoch = Math.floor(nowMs / 1000);
  if (epoch !== cachedEpoch) {
    cachedEpoch = epoch;
    cachedEpochHex = epoch.toString(16).padStart(8, '0');
  }
  return `1-${cachedEpochHex}-${randomHex24()}`;
}

const TRACE_ID_RE = /^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$/;
const ENTITY_ID_RE = /^[0-9a-fA-F]{16}$/;

/** The parts of a trace id. */
export interface ParsedTraceId {
  /** The format version, always `1`. */
  readonly version: 1;
  /** 8 hex digits: the trace's start in epoch seconds. */
  readonly epochHex: string;
  /** 24 hex digits of random data. */
  readonly randomHex: string;
}

/**
 * Parses a trace id. Returns `undefined` for anything that is not `1-<8 hex>-<24 hex>`; it never throws.
 */
export function parseTraceId(text: unknown): ParsedTraceId | undefined {
  if (typeof text !== 'string') return undefined;
  const m = TRACE_ID_RE.exec(text);
  return m ? { version: 1, epochHex: m[1], randomHex: m[2] } : undefined;
}

/** Whether `text` is a well-formed trace id (`1-<8 hex>-<24 hex>`). */
export function isValidTraceId(text: unknown): text is string {
  return typeof text === 'string' && text.length === 35 && TRACE_ID_RE.test(text);
}

/** Whether `text` is a well-formed segment or subsegment id (16 hex digits). */
export function isValidEntityId(text: unknown): text is string {
  return typeof text === 'string' && text.length === 16 && ENTITY_ID_RE.test(text);
}
