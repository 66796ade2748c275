import { parseDaemonAddress, DEFAULT_DAEMON_ADDRESS, type DaemonAddress } from '../emitting/daemon-address.js';
import type { XRayLogger } from '../diag.js';
import type { SegmentEmitter } from '../emitting/segment-emitter.js';
import { XRayConfigError } from '../errors.js';
import {
  DEFAULT_SAMPLING_RULES,
  loadSamplingRulesFile,
  parseSamplingRules,
  type LocalSamplingRules,
} from '../sampling/local-sampler.js';
import type { Sampler } from '../sampling/sampler.js';
import { INSTRUMENTATION_NAMES, type AutoInstrumentOption, type InstrumentationName } from '../instrumentation/instrumentation.js';

/** What to do when code asks for the current segment and there is none. */
export type ContextMissingStrategy = 'RUNTIME_ERROR' | 'LOG_ERROR' | 'IGNORE_ERROR';

/** A user function called (with the message) when there is no current segment. */
export type ContextMissingHandler = (message: string) => void;

/** Names of the plugins that add AWS environment data to segments. */
export type PluginName = 'EC2Plugin' | 'ECSPlugin' | 'ElasticBeanstalkPlugin';

/**
 * The recorder's configuration: the keys of the Django SDK's `XRAY_RECORDER` setting, plus a few of
 * xrayjs's own. The environment variables `AWS_XRAY_TRACING_NAME`, `AWS_XRAY_DAEMON_ADDRESS`,
 * `AWS_XRAY_CONTEXT_MISSING` and `AWS_XRAY_SDK_ENABLED` win over the keys of the same name.
 */
export interface XRayOptions {
  /** The segment name (the service's name in the X-Ray console). Required unless the env var is set. */
  AWS_XRAY_TRACING_NAME?: string;
  /**
   * Trace the libraries the application calls with no code change: outgoing HTTP (`http`: node:http and
   * https, axios, got...; `fetch`: global fetch and undici) and AWS SDK v3 calls (`aws-sdk`). `false`
   * turns all off; a list turns on exactly those; an object turns single ones off
   * (`{ 'aws-sdk': false }`). @default true
   */
  AUTO_INSTRUMENT?: AutoInstrumentOption;
  /** Plugins that add EC2, ECS or Elastic Beanstalk data to every segment. @default [] */
  PLUGINS?: readonly PluginName[];
  /** `false` records every request that has no upstream decision. @default true */
  SAMPLING?: boolean;
  /** Local sampling rules: a rules object (version 1 or 2) or the path of a JSON file. @default 1/s then 5 % */
  SAMPLING_RULES?: string | Record<string, unknown>;
  /**
   * Who decides sampling: `'centralized'` (the rules of the X-Ray service, fetched through the daemon,
   * with `SAMPLING_RULES` as the fallback), `'local'` (only `SAMPLING_RULES`), or a sampler of your own.
   * The environment variable `XRAYJS_SAMPLER` (`centralized` or `local`) wins over the two names. @default 'centralized'
   */
  SAMPLER?: 'centralized' | 'local' | Sampler;
  /** The ARN of the resource the application runs on, matched against centralized rules' `ResourceARN`. */
  RESOURCE_ARN?: string;
  /** A host pattern (`*` and `?`): a matching Host header becomes the segment name. */
  DYNAMIC_NAMING?: string;
  /** Stream completed subsegments once a segment holds more than this many. @default 30 */
  STREAMING_THRESHOLD?: number;
  /** Most stack frames recorded per exception. @default 10 */
  MAX_TRACE_BACK?: number;
  /** Record the text of SQL queries. @default true */
  STREAM_SQL?: boolean;
  /** `host:port` or `tcp:host:port udp:host:port`. @default '127.0.0.1:2000' */
  AWS_XRAY_DAEMON_ADDRESS?: string;
  /** @default 'LOG_ERROR' */
  AWS_XRAY_CONTEXT_MISSING?: ContextMissingStrategy | ContextMissingHandler;
  /** Copy the HTTP request and response fields into annotations: `ALL`, `NONE`, or `LAMBDA` (only on Lambda). @default 'LAMBDA' */
  URLS_AS_ANNOTATION?: 'LAMBDA' | 'ALL' | 'NONE';
  /** `false` turns all tracing into no-ops. @default true */
  AWS_XRAY_SDK_ENABLED?: boolean;
  /** Where documents go instead of the daemon (for example an `InMemoryEmitter` in tests). */
  EMITTER?: SegmentEmitter;
  /** The library's logger, or `false` for none. @default console */
  LOGGER?: XRayLogger | false;
  /** Base URL of the EC2 instance metadata service. @default 'http://169.254.169.254' */
  EC2_METADATA_ENDPOINT?: string;
  /** The Elastic Beanstalk X-Ray environment file. @default '/var/elasticbeanstalk/xray/environment.conf' */
  ELASTIC_BEANSTALK_CONFIG_PATH?: string;
  /**
   * Outgoing HTTP calls also carry a W3C `traceparent` with the same trace and parent ids (for callees
   * traced with OpenTelemetry), beside `X-Amzn-Trace-Id`. @default false
   */
  W3C_TRACE_CONTEXT?: boolean;
}

/** Every default in one place. */
export const DEFAULT_OPTIONS = Object.freeze({
  AUTO_INSTRUMENT: true as AutoInstrumentOption,
  PLUGINS: [] as readonly PluginName[],
  SAMPLING: true,
  STREAMING_THRESHOLD: 30,
  MAX_TRACE_BACK: 10,
  STREAM_SQL: true,
  AWS_XRAY_DAEMON_ADDRESS: DEFAULT_DAEMON_ADDRESS,
  AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR' as ContextMissingStrategy,
  URLS_AS_ANNOTATION: 'LAMBDA' as const,
  AWS_XRAY_SDK_ENABLED: true,
  EC2_METADATA_ENDPOINT: 'http://169.254.169.254',
  ELASTIC_BEANSTALK_CONFIG_PATH: '/var/elasticbeanstalk/xray/environment.conf',
  W3C_TRACE_CONTEXT: false,
});

/** The configuration after defaults, environment and checks. */
export interface ResolvedConfig {
  readonly enabled: boolean;
  readonly tracingName: string;
  /** The instrumentations this recorder records with. */
  readonly autoInstrument: ReadonlySet<InstrumentationName>;
  readonly plugins: readonly PluginName[];
  readonly sampling: boolean;
  readonly samplingRules: LocalSamplingRules;
  /** A sampler of the user's own (`SAMPLER` as an object). */
  readonly sampler: Sampler | undefined;
  /** `SAMPLER` as a name (a sampler object counts as `custom`). */
  readonly samplerKind: 'centralized' | 'local' | 'custom';
  readonly resourceArn: string | undefined;
  readonly dynamicNaming: string | undefined;
  readonly streamingThreshold: number;
  readonly maxTraceBack: number;
  readonly streamSql: boolean;
  readonly daemonAddress: DaemonAddress;
  readonly daemonAddressText: string;
  readonly contextMissing: ContextMissingStrategy | ContextMissingHandler;
  readonly urlsAsAnnotations: boolean;
  readonly emitter: SegmentEmitter | undefined;
  readonly logger: XRayLogger | false | undefined;
  readonly ec2MetadataEndpoint: string;
  readonly elasticBeanstalkConfigPath: string;
  readonly w3cTraceContext: boolean;
}

const KNOWN_KEYS = new Set<string>([
  'AWS_XRAY_TRACING_NAME', 'AUTO_INSTRUMENT', 'PLUGINS', 'SAMPLING', 'SAMPLING_RULES', 'SAMPLER', 'RESOURCE_ARN', 'DYNAMIC_NAMING',
  'STREAMING_THRESHOLD', 'MAX_TRACE_BACK', 'STREAM_SQL', 'AWS_XRAY_DAEMON_ADDRESS', 'AWS_XRAY_CONTEXT_MISSING',
  'URLS_AS_ANNOTATION', 'AWS_XRAY_SDK_ENABLED', 'EMITTER', 'LOGGER', 'EC2_METADATA_ENDPOINT',
  'ELASTIC_BEANSTALK_CONFIG_PATH', 'W3C_TRACE_CONTEXT',
]);

/** Django keys that only make sense for Python module patching. */
const PYTHON_ONLY_KEYS: Record<string, string> = {
  PATCH_MODULES: 'Python module patching has no counterpart; AUTO_INSTRUMENT covers the supported libraries',
  AUTO_PATCH_PARENT_SEGMENT_NAME: 'Python module patching has no counterpart; wrap start-up work in recorder.captureSegment()',
  IGNORE_MODULE_PATTERNS: 'Python module patching has no counterpart',
};

const STRATEGIES: readonly string[] = ['RUNTIME_ERROR', 'LOG_ERROR', 'IGNORE_ERROR'];
const PLUGINS: readonly string[] = ['EC2Plugin', 'ECSPlugin', 'ElasticBeanstalkPlugin'];

/** Parses `AWS_XRAY_SDK_ENABLED` as the Python SDK does; `undefined` for a value it does not know. */
export function parseEnabledFlag(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['y', 'yes', 't', 'true', 'on', '1'].includes(v)) return true;
  if (['n', 'no', 'f', 'false', 'off', '0'].includes(v)) return false;
  return undefined;
}

/**
 * Merges options, environment and defaults and checks them. Throws one {@link XRayConfigError} that
 * lists every problem with its fix.
 */
export function resolveConfig(options: XRayOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new XRayConfigError(['the options must be an object with XRAY_RECORDER keys, for example { AWS_XRAY_TRACING_NAME: "my-service" }.']);
  }
  for (const key of Object.keys(options)) {
    if (KNOWN_KEYS.has(key)) continue;
    if (key in PYTHON_ONLY_KEYS) problems.push(`${key} is not supported: ${PYTHON_ONLY_KEYS[key]}. Remove it.`);
    else {
      const normalized = key.toUpperCase().replace(/-/g, '_');
      const close = [...KNOWN_KEYS].find((k) => k === normalized || editDistance(k, normalized) <= 2);
      problems.push(`unknown key ${key}${close ? ` (did you mean ${close}?)` : ''}. Known keys: ${[...KNOWN_KEYS].join(', ')}.`);
    }
  }
  const o = options as Record<string, unknown>;
  const bool = (key: keyof typeof DEFAULT_OPTIONS & keyof XRayOptions): boolean => {
    const v = o[key];
    if (v === undefined) return DEFAULT_OPTIONS[key] as boolean;
    if (typeof v !== 'boolean') {
      problems.push(`${key} must be true or false (got ${describe(v)}).`);
      return DEFAULT_OPTIONS[key] as boolean;
    }
    return v;
  };
  const wholeNumber = (key: 'STREAMING_THRESHOLD' | 'MAX_TRACE_BACK'): number => {
    const v = o[key];
    if (v === undefined) return DEFAULT_OPTIONS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      problems.push(`${key} must be a whole number >= 0 (got ${describe(v)}); the default is ${DEFAULT_OPTIONS[key]}.`);
      return DEFAULT_OPTIONS[key];
    }
    return v;
  };
  const text = (key: 'DYNAMIC_NAMING' | 'EC2_METADATA_ENDPOINT' | 'ELASTIC_BEANSTALK_CONFIG_PATH'): string | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) {
      problems.push(`${key} must be a non-empty string (got ${describe(v)}).`);
      return undefined;
    }
    return v;
  };

  // AWS_XRAY_SDK_ENABLED: env wins; an unknown env value enables, with a warning (Python).
  let enabled = bool('AWS_XRAY_SDK_ENABLED');
  const envEnabled = env.AWS_XRAY_SDK_ENABLED;
  if (envEnabled !== undefined && envEnabled !== '') {
    const parsed = parseEnabledFlag(envEnabled);
    if (parsed === undefined) {
      problems.push(`the environment variable AWS_XRAY_SDK_ENABLED has the value "${envEnabled}"; use true or false.`);
    } else enabled = parsed;
  }

  // AWS_XRAY_TRACING_NAME: env wins; required.
  let tracingName = '';
  const envName = env.AWS_XRAY_TRACING_NAME;
  if (envName) tracingName = envName;
  else if (o.AWS_XRAY_TRACING_NAME === undefined) {
    if (enabled) {
      problems.push('AWS_XRAY_TRACING_NAME is missing: set it in the options (AWS_XRAY_TRACING_NAME: "my-service") or in the environment variable AWS_XRAY_TRACING_NAME.');
    }
  } else if (typeof o.AWS_XRAY_TRACING_NAME !== 'string' || o.AWS_XRAY_TRACING_NAME.trim() === '') {
    problems.push(`AWS_XRAY_TRACING_NAME must be a non-empty string (got ${describe(o.AWS_XRAY_TRACING_NAME)}).`);
  } else tracingName = o.AWS_XRAY_TRACING_NAME;

  // AWS_XRAY_DAEMON_ADDRESS: env wins.
  const envAddress = env.AWS_XRAY_DAEMON_ADDRESS;
  let daemonAddressText: string = DEFAULT_OPTIONS.AWS_XRAY_DAEMON_ADDRESS;
  let addressSource = 'AWS_XRAY_DAEMON_ADDRESS';
  if (envAddress) {
    daemonAddressText = envAddress;
    addressSource = 'the environment variable AWS_XRAY_DAEMON_ADDRESS';
  } else if (o.AWS_XRAY_DAEMON_ADDRESS !== undefined) {
    if (typeof o.AWS_XRAY_DAEMON_ADDRESS !== 'string') problems.push(`AWS_XRAY_DAEMON_ADDRESS must be a string like "127.0.0.1:2000" (got ${describe(o.AWS_XRAY_DAEMON_ADDRESS)}).`);
    else daemonAddressText = o.AWS_XRAY_DAEMON_ADDRESS;
  }
  let daemonAddress = parseDaemonAddress(DEFAULT_DAEMON_ADDRESS);
  try {
    daemonAddress = parseDaemonAddress(daemonAddressText);
  } catch (e) {
    problems.push(`${addressSource}: ${(e as Error).message}`);
  }

  // AWS_XRAY_CONTEXT_MISSING: env wins.
  let contextMissing: ContextMissingStrategy | ContextMissingHandler = DEFAULT_OPTIONS.AWS_XRAY_CONTEXT_MISSING;
  const envMissing = env.AWS_XRAY_CONTEXT_MISSING;
  if (envMissing) {
    if (STRATEGIES.includes(envMissing)) contextMissing = envMissing as ContextMissingStrategy;
    else problems.push(`the environment variable AWS_XRAY_CONTEXT_MISSING has the value "${envMissing}"; use one of ${STRATEGIES.join(', ')}.`);
  } else if (o.AWS_XRAY_CONTEXT_MISSING !== undefined) {
    const v = o.AWS_XRAY_CONTEXT_MISSING;
    if (typeof v === 'function' || (typeof v === 'string' && STRATEGIES.includes(v))) {
      contextMissing = v as ContextMissingStrategy | ContextMissingHandler;
    } else problems.push(`AWS_XRAY_CONTEXT_MISSING must be one of ${STRATEGIES.join(', ')} or a function (got ${describe(v)}).`);
  }

  let plugins: readonly PluginName[] = DEFAULT_OPTIONS.PLUGINS;
  if (o.PLUGINS !== undefined) {
    if (!Array.isArray(o.PLUGINS) || o.PLUGINS.some((p) => typeof p !== 'string' || !PLUGINS.includes(p))) {
      problems.push(`PLUGINS must be an array of ${PLUGINS.join(', ')} (got ${describe(o.PLUGINS)}).`);
    } else plugins = [...new Set(o.PLUGINS as PluginName[])];
  }

  let samplingRules: LocalSamplingRules = DEFAULT_SAMPLING_RULES;
  const rules = o.SAMPLING_RULES;
  if (rules !== undefined) {
    try {
      if (typeof rules === 'string') samplingRules = loadSamplingRulesFile(rules);
      else if (typeof rules === 'object' && rules !== null && !Array.isArray(rules)) samplingRules = parseSamplingRules(rules);
      else throw new Error(`expected a rules object or a file path, got ${describe(rules)}`);
    } catch (e) {
      problems.push(`SAMPLING_RULES: ${(e as Error).message} See the rules format in the README (version 1 or 2, a "default" with fixed_target and rate).`);
    }
  }

  let sampler: Sampler | undefined;
  let samplerKind: ResolvedConfig['samplerKind'] = 'centralized';
  const envSampler = env.XRAYJS_SAMPLER;
  // The variable chooses between the two built-in strategies; a sampler object of the code is kept.
  const samplerOption = envSampler && (o.SAMPLER === undefined || typeof o.SAMPLER === 'string') ? envSampler : o.SAMPLER;
  if (envSampler && envSampler !== 'local' && envSampler !== 'centralized') {
    problems.push(`the environment variable XRAYJS_SAMPLER has the value "${envSampler}"; use centralized or local.`);
  } else if (samplerOption === 'local' || samplerOption === 'centralized') samplerKind = samplerOption;
  else if (samplerOption !== undefined) {
    if (typeof samplerOption !== 'object' || samplerOption === null || typeof (samplerOption as Sampler).shouldTrace !== 'function') {
      problems.push(`SAMPLER must be 'centralized', 'local' or an object with a shouldTrace(request) method (got ${describe(samplerOption)}).`);
    } else {
      sampler = samplerOption as Sampler;
      samplerKind = 'custom';
    }
  }
  const resourceArn = o.RESOURCE_ARN;
  if (resourceArn !== undefined && (typeof resourceArn !== 'string' || !resourceArn.startsWith('arn:'))) {
    problems.push(`RESOURCE_ARN must be an ARN such as "arn:aws:ecs:us-east-1:123456789012:service/shop/api" (got ${describe(resourceArn)}).`);
  }
  const emitter = o.EMITTER as SegmentEmitter | undefined;
  if (emitter !== undefined && (typeof emitter !== 'object' || emitter === null || typeof emitter.send !== 'function')) {
    problems.push(`EMITTER must be an object with send(document), flush() and shutdown() methods (got ${describe(emitter)}).`);
  }
  const logger = o.LOGGER as XRayLogger | false | undefined;
  if (logger !== undefined && logger !== false && (typeof logger !== 'object' || logger === null || typeof logger.error !== 'function' || typeof logger.warn !== 'function')) {
    problems.push(`LOGGER must be false or an object with error() and warn() methods, such as console or a Nest Logger (got ${describe(logger)}).`);
  }

  const autoInstrument = parseAutoInstrument(o.AUTO_INSTRUMENT, problems);

  const urls = o.URLS_AS_ANNOTATION ?? DEFAULT_OPTIONS.URLS_AS_ANNOTATION;
  if (urls !== 'LAMBDA' && urls !== 'ALL' && urls !== 'NONE') {
    problems.push(`URLS_AS_ANNOTATION must be LAMBDA, ALL or NONE (got ${describe(urls)}).`);
  }

  const config: ResolvedConfig = {
    enabled,
    tracingName,
    autoInstrument,
    plugins,
    sampling: bool('SAMPLING'),
    samplingRules,
    sampler,
    samplerKind,
    resourceArn: typeof resourceArn === 'string' && resourceArn.startsWith('arn:') ? resourceArn : undefined,
    dynamicNaming: text('DYNAMIC_NAMING'),
    streamingThreshold: wholeNumber('STREAMING_THRESHOLD'),
    maxTraceBack: wholeNumber('MAX_TRACE_BACK'),
    streamSql: bool('STREAM_SQL'),
    daemonAddress,
    daemonAddressText,
    contextMissing,
    urlsAsAnnotations: urls === 'ALL' || (urls === 'LAMBDA' && Boolean(env.LAMBDA_TASK_ROOT)),
    emitter,
    logger,
    ec2MetadataEndpoint: text('EC2_METADATA_ENDPOINT') ?? DEFAULT_OPTIONS.EC2_METADATA_ENDPOINT,
    elasticBeanstalkConfigPath: text('ELASTIC_BEANSTALK_CONFIG_PATH') ?? DEFAULT_OPTIONS.ELASTIC_BEANSTALK_CONFIG_PATH,
    w3cTraceContext: bool('W3C_TRACE_CONTEXT'),
  };
  if (problems.length > 0) throw new XRayConfigError(problems);
  return config;
}

/** `AUTO_INSTRUMENT` as the set of instrumentations to turn on. @internal */
function parseAutoInstrument(value: unknown, problems: string[]): ReadonlySet<InstrumentationName> {
  const all = new Set<InstrumentationName>(INSTRUMENTATION_NAMES);
  const known = (name: unknown): name is InstrumentationName => typeof name === 'string' && all.has(name as InstrumentationName);
  const names = INSTRUMENTATION_NAMES.join(', ');
  if (value === undefined || value === true) return all;
  if (value === false) return new Set();
  if (Array.isArray(value)) {
    const bad = value.filter((n) => !known(n));
    if (bad.length > 0) problems.push(`AUTO_INSTRUMENT lists ${bad.map((n) => describe(n)).join(', ')}; the instrumentations are ${names}.`);
    return new Set(value.filter(known));
  }
  if (typeof value === 'object' && value !== null) {
    const on = new Set(all);
    for (const [name, flag] of Object.entries(value)) {
      if (!known(name)) problems.push(`AUTO_INSTRUMENT has the key ${JSON.stringify(name)}; the instrumentations are ${names}.`);
      else if (typeof flag !== 'boolean') problems.push(`AUTO_INSTRUMENT.${name} must be true or false (got ${describe(flag)}).`);
      else if (!flag) on.delete(name);
    }
    return on;
  }
  problems.push(`AUTO_INSTRUMENT must be true, false, a list of instrumentations or an object of them (got ${describe(value)}); the instrumentations are ${names}.`);
  return all;
}

/** Levenshtein distance, for "did you mean" hints. @internal */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return JSON.stringify(value).slice(0, 80);
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
