import { isValidTraceId } from './ids.js';

/** The sampling decision carried by `X-Amzn-Trace-Id`: sampled, not sampled, or "callee decides". */
export type SampledFlag = '1' | '0' | '?';

/** The name of the HTTP header that carries the trace context. */
export const TRACE_HEADER_NAME = 'X-Amzn-Trace-Id';

/**
 * Extra `key=value` pairs are kept up to this many bytes (key plus value lengths), as the Node SDK
 * does, so that a hostile header cannot make every downstream call carry kilobytes.
 */
export const TRACE_HEADER_EXTRA_LIMIT = 256;

/** An extra pair's key: an HTTP token (RFC 9110), which never holds `=`, `;`, white space or controls. */
const EXTRA_KEY = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** A value in the header: visible ASCII except `;` (so never CR, LF, other controls or spaces). */
const HEADER_VALUE = /^[\x21-\x3a\x3c-\x7e]+$/;

/** Whether a pair can be written into the header as it is (and kept in a plain object). @internal */
function isPlainPair(key: string, value: string): boolean {
  return EXTRA_KEY.test(key) && key !== '__proto__' && HEADER_VALUE.test(value);
}

/**
 * A parsed `X-Amzn-Trace-Id` header: `Root=<trace id>;Parent=<entity id>;Sampled=<1|0|?>[;key=value…]`.
 *
 * Parsing is lenient like the X-Ray SDKs: it never throws, ignores empty and malformed parts, trims
 * white space around parts (as the Java, Go, Node and .NET SDKs do; the Python SDK does not) and reads
 * the reserved keys `Root`, `Parent`, `Sampled` and `Self` in any letter case (as Node and Ruby do).
 * `Self` (added by load balancers) is dropped; other pairs are kept in order, up to
 * {@link TRACE_HEADER_EXTRA_LIMIT} bytes, when they are plain tokens: a key of HTTP token characters
 * and a value of visible ASCII without `;`; others (CR, LF, controls, spaces, `__proto__`) are dropped,
 * so that a header taken from a queue message can never inject anything downstream. `Root` and
 * `Parent` are kept as sent: use {@link TraceHeader.hasValidRoot} before continuing a trace.
 * `toString()` always gives a valid header value.
 *
 * @example TraceHeader.fromString('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1').sampled // '1'
 */
export class TraceHeader {
  /** The trace id (`Root=`), as sent. */
  root: string | undefined;
  /** The caller's segment or subsegment id (`Parent=`), as sent. */
  parent: string | undefined;
  /** The caller's sampling decision (`Sampled=`), when it was `1`, `0` or `?`. */
  sampled: SampledFlag | undefined;
  /** Other `key=value` pairs, in the order received. */
  readonly extra: Record<string, string>;

  /** A header from its parts; extra pairs that are not plain tokens are left out. Never throws. */
  constructor(
    fields: { root?: string; parent?: string; sampled?: SampledFlag; extra?: Record<string, string> } = {},
  ) {
    this.root = undefined;
    this.parent = undefined;
    this.sampled = undefined;
    this.extra = {};
    try {
      const { root, parent, sampled, extra } = fields ?? {};
      if (typeof root === 'string') this.root = root;
      if (typeof parent === 'string') this.parent = parent;
      if (sampled === '1' || sampled === '0' || sampled === '?') this.sampled = sampled;
      if (extra) {
        for (const key of Object.keys(extra)) {
          const value = extra[key];
          if (typeof value === 'string' && isPlainPair(key, value)) this.extra[key] = value;
        }
      }
    } catch {
      // fields that cannot be read are left out
    }
  }

  /** Parses a header value. Anything that is not a string gives an empty header. Never throws. */
  static fromString(text: unknown): TraceHeader {
    const header = new TraceHeader();
    if (typeof text !== 'string' || text.length === 0) return header;
    let extraBytes = 0;
    let start = 0;
    const len = text.length;
    while (start <= len) {
      let end = text.indexOf(';', start);
      if (end === -1) end = len;
      const eq = text.indexOf('=', start);
      if (eq !== -1 && eq < end) {
        const key = text.slice(start, eq).trim();
        const value = text.slice(eq + 1, end).trim();
        if (key.length > 0 && value.length > 0) {
          switch (key.toLowerCase()) {
            case 'root':
              header.root = value;
              break;
            case 'parent':
              header.parent = value;
              break;
            case 'sampled':
              if (value === '1' || value === '0' || value === '?') header.sampled = value;
              break;
            case 'self':
              break;
            default:
              if (extraBytes + key.length + value.length <= TRACE_HEADER_EXTRA_LIMIT && isPlainPair(key, value)) {
                extraBytes += key.length + value.length;
                header.extra[key] = value;
              }
          }
        }
      }
      start = end + 1;
    }
    return header;
  }

  /** Whether `root` is a well-formed trace id that can be continued. */
  hasValidRoot(): boolean {
    return isValidTraceId(this.root);
  }

  /**
   * Whether the header carries a whole trace context (a valid Root, a Parent and a Sampled decision):
   * what the SDKs require of a Lambda's `_X_AMZN_TRACE_ID` before they trace under it.
   */
  isComplete(): boolean {
    return this.hasValidRoot() && this.parent !== undefined && this.sampled !== undefined;
  }

  /**
   * Writes `Root=…;Parent=…;Sampled=…` and then the extra pairs; missing parts are left out, and so is
   * any part that is not a plain header value (the fields are public and may have been set by hand),
   * so the result is always a valid header value.
   */
  toString(): string {
    let out = '';
    if (typeof this.root === 'string' && HEADER_VALUE.test(this.root)) out = `Root=${this.root}`;
    if (typeof this.parent === 'string' && HEADER_VALUE.test(this.parent)) out += `${out ? ';' : ''}Parent=${this.parent}`;
    if (this.sampled === '1' || this.sampled === '0' || this.sampled === '?') out += `${out ? ';' : ''}Sampled=${this.sampled}`;
    const extra = this.extra;
    for (const key of Object.keys(extra)) {
      const value = extra[key];
      if (typeof value === 'string' && isPlainPair(key, value)) out += `${out ? ';' : ''}${key}=${value}`;
    }
    return out;
  }
}
