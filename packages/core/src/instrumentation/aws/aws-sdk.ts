import { types } from 'node:util';

import { describeValue, diag } from '../../diag.js';
import type { ErrorFlag } from '../../model/status-flag.js';
import { statusFlag } from '../../model/status-flag.js';
import type { Subsegment } from '../../model/subsegment.js';
import { TRACE_HEADER_NAME } from '../../propagation/trace-header.js';
import type { Instrumentation } from '../instrumentation.js';
import { beginCall, callContext, callHeader, ownsTransport, transportOwner, type CallContext } from '../remote-call.js';
import { addResourceFields } from './aws-resources.js';

/** What xrayjs reads of an AWS SDK v3 client (`@smithy/core/client`'s `Client`). */
interface AwsClient {
  config?: { serviceId?: unknown; region?: unknown };
  middlewareStack?: { add(middleware: unknown, options: Record<string, unknown>): void };
  send(...args: unknown[]): unknown;
}
interface AwsCommand {
  input?: unknown;
  constructor: { name: string };
}
interface Metadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  attempts?: number;
}

type Send = (this: AwsClient, ...args: unknown[]) => unknown;

const TRACE_HEADER = TRACE_HEADER_NAME.toLowerCase();
const HEADER_MIDDLEWARE = Symbol.for('xrayjs.aws-sdk.header-middleware');
const WRAPPED = Symbol.for('xrayjs.aws-sdk.wrapped');

/** Where the base `Client` lives: newer SDKs (`@smithy/core/client`), then older ones. */
const CLIENT_MODULES = ['@smithy/core/client', '@smithy/smithy-client'];

/** Error names of AWS's throttling answers (the SDK's own list, plus S3's). */
const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'ThrottledException', 'RequestThrottledException', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'TransactionInProgressException', 'RequestLimitExceeded', 'BandwidthLimitExceeded', 'LimitExceededException', 'RequestThrottled', 'SlowDown', 'PriorRequestNotComplete', 'EC2ThrottledException']);

function wrapSend(original: Send): Send {
  const send = function send(this: AwsClient, ...args: unknown[]): unknown {
    const context = callContext('aws-sdk');
    if (context === undefined) return original.apply(this, args);
    addHeaderMiddleware(this);
    if (!context.sampled) return original.apply(this, args);
    return tracedSend(this, original, args, context);
  };
  Object.defineProperty(send, WRAPPED, { value: original });
  return send;
}

function tracedSend(client: AwsClient, original: Send, args: unknown[], context: CallContext): unknown {
  let sub: Subsegment;
  let command: AwsCommand;
  try {
    command = args[0] as AwsCommand;
    const serviceId = typeof client.config?.serviceId === 'string' ? client.config.serviceId : (client.constructor?.name ?? 'AWS').replace(/Client$/, '');
    sub = beginCall(context, serviceId, 'aws');
    ownsTransport(sub);
  } catch (e) {
    diag.warn('aws_instrumentation_failed', `An AWS SDK call could not be traced: ${describeValue(e)}`);
    return original.apply(client, args);
  }
  const recorder = sub.segment.recorder!;
  const finish = (output: unknown, error: unknown, failed: boolean): void => {
    void record(client, sub, command, output, error, failed);
  };
  // The callback form: send(command, cb) or send(command, options, cb).
  const last = args.length - 1;
  if (last >= 1 && typeof args[last] === 'function') {
    const callback = args[last] as (error: unknown, data?: unknown) => void;
    args[last] = (error: unknown, data?: unknown) => {
      finish(data, error, error !== null && error !== undefined);
      callback(error, data);
    };
    return recorder.runWith(sub, () => original.apply(client, args));
  }
  let result: unknown;
  try {
    result = recorder.runWith(sub, () => original.apply(client, args));
  } catch (error) {
    finish(undefined, error, true);
    throw error;
  }
  if (!types.isPromise(result)) {
    finish(result, undefined, false);
    return result;
  }
  return (result as Promise<unknown>).then(
    (output: unknown) => {
      finish(output, undefined, false);
      return output;
    },
    (error: unknown) => {
      finish(undefined, error, true);
      throw error;
    },
  );
}

/** Fills the `aws` and `http` blocks and the flags once the call (all its retries) is over. */
async function record(client: AwsClient, sub: Subsegment, command: AwsCommand, output: unknown, error: unknown, failed: boolean): Promise<void> {
  const endTime = sub.segment.now();
  try {
    const metadata = ((failed ? error : output) as { $metadata?: Metadata } | undefined)?.$metadata;
    const aws: Record<string, unknown> = { operation: command.constructor.name.replace(/Command$/, '') };
    let region: unknown = client.config?.region;
    if (typeof region === 'function') region = await (region as () => unknown)();
    if (typeof region === 'string') aws.region = region;
    if (metadata?.requestId) aws.request_id = metadata.requestId;
    if (metadata?.extendedRequestId) aws.id_2 = metadata.extendedRequestId;
    if (typeof metadata?.attempts === 'number') aws.retries = Math.max(0, metadata.attempts - 1);
    addResourceFields(sub.name, command.input, failed ? undefined : output, aws);
    sub.setAws(aws);
    if (typeof metadata?.httpStatusCode === 'number') sub.setHttpResponse({ status: metadata.httpStatusCode });
    if (failed) sub.addError(error, { remote: metadata !== undefined, flag: errorFlag(error, metadata) });
  } catch (e) {
    diag.warn('aws_instrumentation_failed', `An AWS SDK call could not be recorded: ${describeValue(e)}`);
  }
  sub.close(endTime);
}

function errorFlag(error: unknown, metadata: Metadata | undefined): ErrorFlag {
  const e = error as { name?: unknown; $retryable?: { throttling?: unknown }; $fault?: unknown } | null;
  if (e?.$retryable?.throttling === true || (typeof e?.name === 'string' && THROTTLING.has(e.name)) || metadata?.httpStatusCode === 429) return 'throttle';
  if (typeof metadata?.httpStatusCode === 'number') {
    const flag = statusFlag(metadata.httpStatusCode);
    if (flag !== 'none') return flag;
  }
  return e?.$fault === 'client' ? 'error' : 'fault';
}

/**
 * Adds, once per client, a build-step middleware that puts `X-Amzn-Trace-Id` on the SDK's HTTP request:
 * the AWS subsegment as parent, or `Sampled=0` in an unsampled trace. (X-Ray header signing: the SDK
 * leaves this header out of SigV4.)
 */
function addHeaderMiddleware(client: AwsClient): void {
  const holder = client as unknown as Record<symbol, unknown>;
  if (holder[HEADER_MIDDLEWARE] || typeof client.middlewareStack?.add !== 'function') return;
  holder[HEADER_MIDDLEWARE] = true;
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) => (args: { request?: { headers?: Record<string, string> } }) => {
      try {
        const headers = args.request?.headers;
        if (headers && !Object.keys(headers).some((k) => k.toLowerCase() === TRACE_HEADER)) {
          const owner = transportOwner();
          const context = owner === undefined ? callContext('aws-sdk') : undefined;
          const header = owner !== undefined ? owner.segment.recorder?.downstreamHeader(owner) : context !== undefined ? callHeader(context, undefined) : undefined;
          if (header !== undefined) headers[TRACE_HEADER_NAME] = header;
        }
      } catch {
        // the call goes on without the header
      }
      return next(args);
    },
    { step: 'build', name: 'xrayjsTraceHeader', override: true, tags: ['XRAYJS'] },
  );
}

interface Patch {
  readonly proto: { send: Send };
  readonly original: Send;
  readonly wrapper: Send;
}
let patches: Patch[] = [];
let enabling: Promise<void> | undefined;

async function patchClientModules(): Promise<void> {
  for (const specifier of CLIENT_MODULES) {
    let mod: { Client?: { prototype?: { send?: Send } } } | undefined;
    try {
      // A specifier in a variable: no type declarations are needed, and the SDK is optional. In Node,
      // the SDK's exports map gives ES module and CommonJS importers the same (CommonJS) module, so this
      // is the instance the application's clients extend.
      mod = (await import(specifier)) as typeof mod;
    } catch {
      continue;
    }
    const proto = mod?.Client?.prototype;
    if (!proto || typeof proto.send !== 'function' || (proto.send as unknown as Record<symbol, unknown>)[WRAPPED]) continue;
    if (patches.some((p) => p.proto === proto)) continue;
    const original = proto.send;
    const wrapper = wrapSend(original);
    proto.send = wrapper;
    patches.push({ proto: proto as { send: Send }, original, wrapper });
  }
  if (patches.length === 0) diag.debug('aws-sdk: no AWS SDK v3 found (@smithy/core/client or @smithy/smithy-client); AWS calls are not traced.');
}

/**
 * AWS SDK v3: every client call (`client.send(command)`, and the aggregated `new DynamoDB({}).getItem()`
 * style, which calls `send`) is an `aws` subsegment named after the service (`DynamoDB`, `S3`, ...),
 * spanning all retries, with `aws.operation`, `region`, `request_id`, `id_2` (S3), `retries`, the
 * service's resource fields, `http.response.status`, the flags (throttling, 4xx error, 5xx fault) and a
 * remote error. The SDK's own HTTP request is part of it (not traced again) and carries its
 * `X-Amzn-Trace-Id`. The SDK publishes no diagnostics channel: the base `Client.prototype.send` is
 * wrapped, which covers every client whenever it was created.
 * @internal
 */
export const awsSdkInstrumentation: Instrumentation = {
  name: 'aws-sdk',
  covers: 'AWS SDK v3 clients (@aws-sdk/client-*): send() and the aggregated clients',
  versions: '@aws-sdk/client-* 3.x (3.1169 tested), through @smithy/core/client or @smithy/smithy-client',
  hook: 'patch (Client.prototype.send) + a build-step middleware per client for the trace header',
  enable() {
    enabling ??= patchClientModules().finally(() => {
      enabling = undefined;
    });
    return enabling;
  },
  disable() {
    for (const p of patches) if (p.proto.send === p.wrapper) p.proto.send = p.original;
    patches = [];
  },
};

/**
 * Traces one client's calls, for a client whose SDK copy `AUTO_INSTRUMENT` did not reach (a copy
 * nested inside another package). Returns the same client.
 *
 * @example const s3 = captureAWSClient(new S3Client({}));
 */
export function captureAWSClient<C extends object>(client: C): C {
  const target = client as unknown as AwsClient & Record<symbol, unknown>;
  const current = target.send as Send & Record<symbol, unknown>;
  if (typeof current !== 'function' || current[WRAPPED]) return client;
  Object.defineProperty(client, 'send', { value: wrapSend(current), configurable: true, writable: true });
  return client;
}
