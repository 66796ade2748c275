export { ambientRecorder, recorder, recorderOf, Recorder } from './recorder/recorder.js';
export type {
  BeginSegmentOptions,
  ErrorClassifier,
  IncomingRequest,
  RecorderStats,
  SubsegmentOptions,
} from './recorder/recorder.js';
export { SDK_NAME, SDK_VERSION } from './recorder/segment-factory.js';
export { Entity, MAX_ANNOTATIONS, MAX_ANNOTATION_LENGTH, MAX_HTTP_FIELD_LENGTH, prepareAnnotations } from './model/entity.js';
export type { AddErrorOptions, PreparedAnnotations } from './model/entity.js';
export { Segment } from './model/segment.js';
export type { SegmentInit } from './model/segment.js';
export { Subsegment } from './model/subsegment.js';
export type { SubsegmentInit } from './model/subsegment.js';
export { isNoop, NOOP_SEGMENT, NOOP_SUBSEGMENT } from './model/noop.js';
export { statusFlag } from './model/status-flag.js';
export type { ErrorFlag } from './model/status-flag.js';
export type { AnnotationValue, HttpData, HttpRequestData, HttpResponseData, SqlData } from './model/document-fields.js';
export type { CauseData, ExceptionData, StackFrame } from './model/exception.js';
export { registerInternalPath } from './model/exception.js';
export { directoryOfCaller } from './module-location.js';
export { DEFAULT_OPTIONS, parseEnabledFlag, resolveConfig } from './config/config.js';
export type {
  ContextMissingHandler,
  ContextMissingStrategy,
  PluginName,
  ResolvedConfig,
  XRayOptions,
} from './config/config.js';
export { InvalidSamplingManifestError, SegmentNotFoundError, XRayConfigError } from './errors.js';
export { TraceHeader, TRACE_HEADER_NAME, TRACE_HEADER_EXTRA_LIMIT } from './propagation/trace-header.js';
export type { SampledFlag } from './propagation/trace-header.js';
export {
  isValidEntityId,
  isValidTraceId,
  newEntityId,
  newTraceId,
  parseTraceId,
  NOOP_ENTITY_ID,
  NOOP_TRACE_ID,
} from './propagation/ids.js';
export type { ParsedTraceId } from './propagation/ids.js';
export { wildcardMatch } from './wildcard.js';
export { sanitizeName, MAX_NAME_LENGTH } from './names.js';
export { toJsonSafe } from './json-safe.js';
export { epochSeconds } from './clock.js';
export { activeEntity } from './context/trace-context.js';
export type { TraceEntity } from './context/trace-context.js';
export { bindContext, bindEmitter } from './context/bind.js';
export { DEFAULT_DAEMON_ADDRESS, parseDaemonAddress, resolveDaemonAddress } from './emitting/daemon-address.js';
export type { DaemonAddress, DaemonEndpoint } from './emitting/daemon-address.js';
export {
  DEFAULT_SAMPLING_RULES,
  LocalSampler,
  loadSamplingRulesFile,
  parseSamplingRules,
} from './sampling/local-sampler.js';
export type { LocalSamplerOptions, LocalSamplingRule, LocalSamplingRules } from './sampling/local-sampler.js';
export type { Sampler, SamplingRequest } from './sampling/sampler.js';
export { CentralizedSampler } from './sampling/centralized/centralized-sampler.js';
export { timestampMs } from './sampling/centralized/sampling-api-client.js';
export type { CentralizedSamplerOptions, CentralizedSamplerStats, SamplerTimers } from './sampling/centralized/centralized-sampler.js';
export type { SamplingRuleState } from './sampling/centralized/sampling-rule.js';
export type { SegmentEmitter, EmitterStats } from './emitting/segment-emitter.js';
export { InMemoryEmitter } from './emitting/in-memory-emitter.js';
export { UdpEmitter, DAEMON_HEADER, MAX_DATAGRAM_BYTES, MAX_DOCUMENT_BYTES } from './emitting/udp-emitter.js';
export type { HostLookup, UdpEmitterOptions } from './emitting/udp-emitter.js';
export { TRIM_MARKER_NAMESPACE } from './processing/oversize.js';
export type { WriterStats } from './processing/document-writer.js';
export { runPlugins } from './plugins/plugins.js';
export type { PluginData, PluginOptions, PluginResult } from './plugins/plugins.js';
export type { XRayLogger } from './diag.js';
export { INSTRUMENTATION_NAMES } from './instrumentation/instrumentation.js';
export type { AutoInstrumentOption, InstrumentationName } from './instrumentation/instrumentation.js';
export { withoutTracing } from './instrumentation/suppression.js';
export { captureAWSClient } from './instrumentation/aws/aws-sdk.js';
