import type { XRayOptions } from '@xrayjs/core';

/** A route left untraced: a path pattern (`*`, `?`) or a regular expression, optionally for one method. */
export type ExcludedRoute = string | RegExp | { path: string | RegExp; method?: string };

/**
 * Options of `XRayModule.forRoot()`: the core's `XRAY_RECORDER` keys (environment variables win over
 * them) and the module's own.
 */
export interface XRayModuleOptions extends XRayOptions {
  /**
   * Requests whose path matches are not traced (health checks, metrics). They still answer with a
   * trace header and propagate `Sampled=0`. @default []
   */
  EXCLUDE_ROUTES?: readonly ExcludedRoute[];
}

/** A class that makes the options, for `forRootAsync({ useClass })`. */
export interface XRayOptionsFactory {
  createXRayOptions(): XRayModuleOptions | Promise<XRayModuleOptions>;
}
