export { XRayModule } from './xray.module.js';
export { XRAY_MODULE_OPTIONS } from './xray.module-definition.js';
export type { ExcludedRoute, XRayModuleOptions, XRayOptionsFactory } from './xray-module-options.interface.js';
export { XRayRecorder } from './xray-recorder.service.js';
export { XRayInterceptor } from './xray.interceptor.js';
export { NoSubsegment, Subsegment } from './decorators/subsegment.decorator.js';
export type { SubsegmentOptions } from './decorators/subsegment.decorator.js';
export { errorFlag, httpStatusOf } from './http/exception-flag.js';
export { SUPPORTED_NEST_MAJORS } from './internals/nest-internals.js';
export {
  ANNOTATION_CLIENT_ABORTED,
  ANNOTATION_CONTROLLER,
  ANNOTATION_HANDLER,
  ANNOTATION_ROUTE,
  XRAY_OPTIONS_OVERRIDE,
} from './xray.constants.js';
export { NOOP_SEGMENT, NOOP_SUBSEGMENT } from '@xrayjs/core';
export type { Recorder, Segment, Subsegment as XRaySubsegment, XRayOptions } from '@xrayjs/core';
