import { dirname, isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';

import { directoryOfCaller } from '../module-location.js';
import { newEntityId } from '../propagation/ids.js';

/** One stack frame of an exception, as X-Ray stores it. */
export interface StackFrame {
  path: string;
  line?: number;
  label?: string;
}

/** One exception of a `cause` block. */
export interface ExceptionData {
  id: string;
  message?: string;
  type?: string;
  remote: boolean;
  stack?: StackFrame[];
  truncated?: number;
  /** Id of the exception that caused this one (from `Error.cause`). */
  cause?: string;
}

/** The `cause` block of a segment or subsegment. */
export interface CauseData {
  working_directory: string;
  exceptions: ExceptionData[];
}

/**
 * The errors one segment's entities recorded, with the id each got: an error that reaches a parent
 * after a child recorded it is written as a reference to that id. One map per segment, so that an
 * error object shared between requests (a cached rejection, a constant error, an
 * `AbortSignal.timeout()` reason) is written in full in each trace, never as a reference into another.
 * @internal
 */
export type RecordedErrors = WeakMap<object, string>;

/** This package's root directory (`src/`, or the build's), found from this file's own location. */
const OWN_DIRECTORY = directoryOfCaller();
/** Paths whose frames are left out of recorded stacks: the library's own code. @internal */
const internalPaths: string[] = OWN_DIRECTORY === undefined ? [] : [dirname(OWN_DIRECTORY) + sep];

/**
 * Leaves frames under `directory` out of recorded stacks, as the SDKs leave out their own frames.
 * The NestJS package registers itself here.
 */
export function registerInternalPath(directory: string): void {
  const dir = directory.endsWith(sep) ? directory : directory + sep;
  if (!internalPaths.includes(dir)) internalPaths.push(dir);
}

/** Longest exception message kept; the rest is cut (the document must fit a datagram). @internal */
const MAX_MESSAGE = 4096;
/** How many `Error.cause` links are followed. @internal */
const MAX_CAUSE_CHAIN = 5;

/**
 * Turns a thrown value into X-Ray exceptions: the error itself, then up to 5 errors of its `cause`
 * chain, each pointing to its cause by id. Each object is entered in `recorded`. Only called when
 * something failed.
 * @internal
 */
export function buildExceptions(error: unknown, remote: boolean, maxFrames: number, cwd: string, recorded: RecordedErrors, redact?: (message: string) => string): ExceptionData[] {
  const out: ExceptionData[] = [];
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_CHAIN && current !== undefined && current !== null; depth++) {
    const data = describe(current, remote && depth === 0, maxFrames, cwd);
    if (redact !== undefined && data.message !== undefined) data.message = redactMessage(data.message, redact);
    if (typeof current === 'object' || typeof current === 'function') recorded.set(current as object, data.id);
    if (out.length > 0) out[out.length - 1].cause = data.id;
    out.push(data);
    let next: unknown;
    try {
      next = isError(current) ? current.cause : undefined;
    } catch {
      next = undefined; // a `cause` getter that throws ends the chain
    }
    if (next === current) break;
    current = next;
  }
  return out;
}

function redactMessage(message: string, redact: (message: string) => string): string {
  try {
    const out = redact(message);
    return typeof out === 'string' ? out : '';
  } catch {
    return ''; // a redaction that fails records no message rather than the unredacted one
  }
}

function describe(error: unknown, remote: boolean, maxFrames: number, cwd: string): ExceptionData {
  const data: ExceptionData = { id: newEntityId(), remote };
  if (isError(error)) {
    // The class name, as the Python SDK writes it, unless the error names itself (`name` other than the
    // inherited 'Error'): `class DomainError extends Error {}` is a DomainError.
    const name = safeString(() => error.name);
    data.type = (name && name !== 'Error' ? name : safeString(() => error.constructor?.name)) || name || 'Error';
    const message = safeString(() => error.message);
    if (message) data.message = message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message;
    const stack = safeString(() => error.stack);
    if (stack) {
      const { frames, truncated } = parseStack(stack, maxFrames, cwd);
      if (frames.length > 0) data.stack = frames;
      if (truncated > 0) data.truncated = truncated;
    }
  } else {
    data.type = error === null ? 'null' : typeof error;
    let message: string;
    try {
      message = typeof error === 'object' ? JSON.stringify(error) ?? String(error) : String(error);
    } catch {
      message = Object.prototype.toString.call(error);
    }
    if (message) data.message = message.slice(0, MAX_MESSAGE);
  }
  return data;
}

/** An Error of this realm or of another one (a `vm` context, Jest's module sandbox): Node's own errors. */
function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** A string property of a hostile error, or `undefined` when reading it throws or gives no string. */
function safeString(read: () => unknown): string | undefined {
  try {
    const value = read();
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `label (location)`; the location may itself hold parentheses (eval frames), so the last `(` pair. */
const WITH_LABEL = /^(.+?) \((.+)\)$/;
/** `path:line:column` or `path:line`. */
const LOCATION = /^(.*?):(\d+)(?::\d+)?$/;

/**
 * Parses V8's `err.stack` into frames, leaving out the library's own and capping the count. Paths
 * are made relative to `cwd` when under it (`file://` URLs first become paths); `async ` markers are
 * dropped from labels and from anonymous frames.
 * @internal
 */
export function parseStack(stack: string, maxFrames: number, cwd: string): { frames: StackFrame[]; truncated: number } {
  const frames: StackFrame[] = [];
  let truncated = 0;
  for (const rawLine of stack.split('\n')) {
    const line = rawLine.trim();
    if (!line.startsWith('at ')) continue;
    let text = line.slice(3);
    if (text.startsWith('async ')) text = text.slice(6);
    let label: string | undefined;
    let location = text;
    const withLabel = WITH_LABEL.exec(text);
    if (withLabel) {
      label = withLabel[1];
      location = withLabel[2];
    }
    let path = location;
    let lineNumber: number | undefined;
    const loc = LOCATION.exec(location);
    if (loc && loc[1].length > 0) {
      path = loc[1];
      lineNumber = Number(loc[2]);
    }
    if (path.startsWith('file://')) {
      try {
        path = fileURLToPath(path);
      } catch {
        // keep the URL
      }
    }
    if (internalPaths.some((p) => path.startsWith(p))) continue;
    if (frames.length >= maxFrames) {
      truncated++;
      continue;
    }
    if (isAbsolute(path) && path.startsWith(cwd + sep)) path = relative(cwd, path);
    const frame: StackFrame = { path };
    if (lineNumber !== undefined) frame.line = lineNumber;
    if (label) frame.label = label;
    frames.push(frame);
  }
  return { frames, truncated };
}
