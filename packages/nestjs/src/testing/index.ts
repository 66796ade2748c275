export { XRayCapture } from './xray-capture.js';
export type { CapturedDocument, CapturedSubsegment, SegmentFilter, SubsegmentFilter } from './xray-capture.js';
export { captureXRay, XRayTestingModule } from './xray-testing.module.js';
