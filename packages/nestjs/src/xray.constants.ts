/** Metadata key of `@NoSubsegment()`. @internal */
export const NO_SUBSEGMENT = Symbol.for('xrayjs.nestjs.no-subsegment');
/** Marks a function that `@Subsegment()` already wrapped. @internal */
export const WRAPPED = Symbol.for('xrayjs.nestjs.wrapped');

/** Annotation keys the module writes on request segments. */
export const ANNOTATION_ROUTE = 'http_route';
export const ANNOTATION_CONTROLLER = 'nest_controller';
export const ANNOTATION_HANDLER = 'nest_handler';
/** Annotation set when the client went away before the response finished. */
export const ANNOTATION_CLIENT_ABORTED = 'client_aborted';

/**
 * Options merged over `XRayModule.forRoot()`'s, `null` by default: a test replaces it with
 * `overrideProvider(XRAY_OPTIONS_OVERRIDE)` to capture documents without restating the application's
 * options (`captureXRay()` of `@xrayjs/nestjs/testing` does that).
 */
export const XRAY_OPTIONS_OVERRIDE = Symbol.for('xrayjs.nestjs.options-override');
