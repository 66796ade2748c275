import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of the file whose code calls this function, read from a V8 stack frame. The same
 * code then finds its own files whether it runs as an ES module (`file://` URLs in stacks) or as
 * CommonJS (paths); the ES module meta URL and `__dirname` each exist in only one of the two.
 * `undefined` if the stack cannot be read.
 * @internal
 */
export function directoryOfCaller(): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 2;
    Error.captureStackTrace(holder, directoryOfCaller);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const frame = holder.stack?.split('\n')[1];
  const match = frame === undefined ? null : /(?:\(|at )((?:file:\/\/)?\/[^():]*):\d+:\d+\)?\s*$/.exec(frame);
  if (!match) return undefined;
  const location = match[1];
  try {
    return dirname(location.startsWith('file://') ? fileURLToPath(location) : location);
  } catch {
    return undefined;
  }
}
