export { AddressInUseError, LocalDaemon } from './daemon.js';
export type { DaemonStats, LocalDaemonOptions } from './daemon.js';
export { parseDatagram, validateDocument, DAEMON_BUFFER_BYTES } from './protocol.js';
export type { Rejection, SegmentDocument } from './protocol.js';
export { Trace, TraceStore } from './trace-store.js';
export type { SegmentNode, SubsegmentNode, TraceQuery, TraceSummary } from './trace-store.js';
export { buildServiceMap } from './service-map.js';
export type { MapEdge, MapNode } from './service-map.js';
