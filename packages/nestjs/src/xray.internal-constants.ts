/** The options after checking (module keys and recorder keys apart). @internal */
export const XRAY_CHECKED_OPTIONS = Symbol.for('xrayjs.nestjs.checked-options');
/** The application's core `Recorder` (`null` when imported without `forRoot()`). @internal */
export const XRAY_CORE_RECORDER = Symbol.for('xrayjs.nestjs.core-recorder');
/** The Nest hooks this application holds (route annotations, exception recording). @internal */
export const XRAY_NEST_HOOKS = Symbol.for('xrayjs.nestjs.hooks');
/** Provided (globally) by `forRoot()`/`forRootAsync()` only. @internal */
export const XRAY_ROOT = Symbol.for('xrayjs.nestjs.root');
