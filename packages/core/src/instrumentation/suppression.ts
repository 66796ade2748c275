import { traceContext } from '../context/trace-context.js';

/**
 * Runs `fn` outside any trace: nothing it does (an outgoing HTTP call, an AWS SDK call) is recorded or
 * carries a trace header. The recorder runs its own I/O this way (the EC2 metadata service, the
 * sampling API), so that it never appears in the traces it makes.
 *
 * @example await withoutTracing(() => fetch('http://169.254.169.254/latest/meta-data/'))
 */
export function withoutTracing<T>(fn: () => T): T {
  return traceContext.run(undefined, fn);
}
