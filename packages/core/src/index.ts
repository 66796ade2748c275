export { recorder, Recorder, SDK_NAME, SDK_VERSION } from './recorder.js';
export type {
  BeginSegmentOptions,
  ErrorClassifier,
  IncomingRequest,
  RecorderStats,
  SubsegmentOptions,
} from './recorder.js';
export { Entity, Segment, Subsegment, MAX_ANNOTATIONS, MAX_ANNOTATION_LENGTH, MAX_HTTP_FIELD_LENGTH, statusFlag } from './entity.js';
export type {
  AddErrorOptions,
  ErrorFlag,
  AnnotationValue,
  HttpData,
  HttpRequestData,
  HttpResponseData,
  SegmentInit,
  SqlData,
  SubsegmentInit,
} from './entity.js';
export type { CauseData, ExceptionData, StackFrame } from './exception.js';
export { registerInternalPath } from './exception.js';
export { DEFAULT_OPTIONS, parseEnabledFlag, resolveConfig } from './config.js';
export type {
  ContextMissingHandler,
  ContextMissingStrategy,
  PluginName,
  ResolvedConfig,
  XRayOptions,
} from './config.js';
export { InvalidSamplingManifestError, SegmentNotFoundError, XRayConfigError } from './errors.js';
export { TraceHeader, TRACE_HEADER_NAME, TRACE_HEADER_EXTRA_LIMIT } from './trace-header.js';
export type { SampledFlag } from './trace-header.js';
export {
  isValidEntityId,
  isValidTraceId,
  newEntityId,
  newTraceId,
  parseTraceId,
  NOOP_ENTITY_ID,
  NOOP_TRACE_ID,
} from './ids.js';
export type { ParsedTraceId } from './ids.js';
export { wildcardMatch } from './wildcard.js';
export { sanitizeName, MAX_NAME_LENGTH } from './names.js';
export { toJsonSafe } from './json-safe.js';
export { epochSeconds } from './clock.js';
export { bindContext, bindEmitter } from './context.js';
export { DEFAULT_DAEMON_ADDRESS, parseDaemonAddress, resolveDaemonAddress } from './daemon-config.js';
export type { DaemonAddress, DaemonEndpoint } from './daemon-config.js';
export {
  DEFAULT_SAMPLING_RULES,
  LocalSampler,
  loadSamplingRulesFile,
  parseSamplingRules,
} from './sampling/local-sampler.js';
export type { LocalSamplerOptions, LocalSamplingRule, LocalSamplingRules } from './sampling/local-sampler.js';
export type { Sampler, SamplingRequest } from './sampling/sampler.js';
export type { SegmentEmitter, EmitterStats } from './emitting/segment-emitter.js';
export { InMemoryEmitter } from './emitting/in-memory-emitter.js';
export { UdpEmitter, DAEMON_HEADER, MAX_DATAGRAM_BYTES, MAX_DOCUMENT_BYTES } from './emitting/udp-emitter.js';
export { TRIM_MARKER_NAMESPACE } from './emitting/document-writer.js';
export type { WriterStats } from './emitting/document-writer.js';
export { runPlugins } from './plugins/plugins.js';
export type { PluginData, PluginOptions, PluginResult } from './plugins/plugins.js';
export type { XRayLogger } from './diag.js';
