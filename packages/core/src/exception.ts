import { dirname, isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { newEntityId } from './ids.js';

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

/** Errors already recorded on some entity, with the id they were given. @internal */
const recorded = new WeakMap<object, string>();

/** Paths whose frames are left out of recorded stacks: the library's own code. @internal */
const internalPaths: string[] = [dirname(fileURLToPath(import.meta.url)) + sep];

/**
 * Leaves frames under `directory` out of recorded stacks, as the SDKs leave out their own frames.
 * The NestJS package registers itself here.
 */
export function registerInternalPath(directory: string): void {
  const dir = directory.endsWith(sep) ? directory : directory + sep;
  if (!internalPaths.includes(dir)) internalPaths.push(dir);
}

/** The id an error was recorded under, if any entity recorded it already. */
export function recordedExceptionId(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? recorded.get(error) : undefined;
}

/** Longest exception message kept; the rest is cut (the document must fit a datagram). @internal */
const MAX_MESSAGE = 4096;
/** How many `Error.cause` links are followed. @internal */
const MAX_CAUSE_CHAIN = 5;

const FRAME_RE = /^\s*at (?:(.+?) \()?(.+?):(\d+):\d+\)?\s*$/;
const FRAME_NO_POS_RE = /^\s*at (?:(.+?) \()?([^():]+)\)?\s*$/;

/**
 * Turns a thrown value into X-Ray exceptions: the error itself, then up to 5 errors of its
 * `cause` chain, each pointing to its cause by id. Only called when something failed.
 */
export function buildExceptions(error: unknown, remote: boolean, maxFrames: number, cwd: string): ExceptionData[] {
  const out: ExceptionData[] = [];
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_CHAIN && current !== undefined && current !== null; depth++) {
    const data = describe(current, remote && depth === 0, maxFrames, cwd);
    if (typeof current === 'object') recorded.set(current, data.id);
    if (out.length > 0) out[out.length - 1].cause = data.id;
    out.push(data);
    const next: unknown = current instanceof Error ? current.cause : undefined;
    if (next === current) break;
    current = next;
  }
  return out;
}

function describe(error: unknown, remote: boolean, maxFrames: number, cwd: string): ExceptionData {
  const data: ExceptionData = { id: newEntityId(), remote };
  if (error instanceof Error) {
    data.type = error.name || error.constructor?.name || 'Error';
    if (error.message) data.message = error.message.length > MAX_MESSAGE ? error.message.slice(0, MAX_MESSAGE) : error.message;
    let stack: string | undefined;
    try {
      stack = typeof error.stack === 'string' ? error.stack : undefined;
    } catch {
      stack = undefined;
    }
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

/** Parses V8's `err.stack` into frames, leaving out the library's own and capping the count. @internal */
export function parseStack(stack: string, maxFrames: number, cwd: string): { frames: StackFrame[]; truncated: number } {
  const frames: StackFrame[] = [];
  let truncated = 0;
  for (const line of stack.split('\n')) {
    if (!line.trimStart().startsWith('at ')) continue;
    const m = FRAME_RE.exec(line) ?? FRAME_NO_POS_RE.exec(line);
    if (!m) continue;
    let path = m[2];
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
    if (m[3] !== undefined) frame.line = Number(m[3]);
    if (m[1]) frame.label = m[1];
    frames.push(frame);
  }
  return { frames, truncated };
}
