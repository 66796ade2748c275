import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

import {
  Inject,
  Logger,
  Module,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import { recorder, registerInternalPath, resolveConfig, type XRayOptions } from '@xrayjs/core';

import { recordNestExceptions } from './exception-recording.js';
import { errorFlag } from './http-exception-flag.js';
import { RequestTracer } from './request-tracer.js';
import { installRouteAnnotations } from './route-annotations.js';
import { XRayInterceptor } from './xray.interceptor.js';
import { MODULE_OPTIONS_TOKEN, XRayConfigurableModule } from './xray.module-definition.js';
import type { XRayModuleOptions } from './xray-module-options.interface.js';
import { XRayRecorder } from './xray-recorder.service.js';

/** Splits the module's own keys from the recorder's. @internal */
function recorderOptions(options: XRayModuleOptions | undefined): XRayOptions {
  const { EXCLUDE_ROUTES: _excluded, ...rest } = options ?? {};
  return rest;
}

/**
 * Installs the router hook, or, when it cannot be installed, makes `XRayInterceptor` a global
 * interceptor of the application being created (same annotations, at the interceptor pipeline's
 * cost). Called by `XRayModule` while the application is created, before Nest builds its routes.
 * @internal
 */
export function enableRouteAnnotations(config: ApplicationConfig, install: () => boolean = installRouteAnnotations): 'router-hook' | 'interceptor' {
  if (install()) return 'router-hook';
  config.addGlobalInterceptor(new XRayInterceptor());
  return 'interceptor';
}

/** Checks the options while the application is created, so that a bad key fails the bootstrap. @internal */
const XRAY_CHECKED_OPTIONS = Symbol.for('xrayjs.nestjs.checked-options');
/** How route annotations are made: `'router-hook'` or `'interceptor'`. @internal */
const XRAY_ROUTE_ANNOTATIONS = Symbol.for('xrayjs.nestjs.route-annotations-mode');

/**
 * AWS X-Ray for NestJS. `XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'orders' })` (or
 * `forRootAsync({ imports, inject, useFactory | useClass | useExisting })`) traces every HTTP request
 * as a segment, on Express and Fastify alike; `@Subsegment()` traces methods; `XRayRecorder` is
 * injectable everywhere (the module is global).
 *
 * Nothing happens at import time. The options are checked when the application is created (a bad key
 * fails the bootstrap with a message naming it), the recorder is configured when the module
 * initialises, and it is flushed and closed on application shutdown.
 */
@Module({
  providers: [
    XRayRecorder,
    // Route annotations come from a hook in Nest's router (one call per request), installed while the
    // application is created; only if it cannot be installed is XRayInterceptor made global.
    { provide: XRAY_ROUTE_ANNOTATIONS, useFactory: (config: ApplicationConfig) => enableRouteAnnotations(config), inject: [ApplicationConfig] },
    {
      provide: XRAY_CHECKED_OPTIONS,
      useFactory: (options?: XRayModuleOptions) => {
        if (options !== undefined) resolveConfig(recorderOptions(options));
        return options;
      },
      inject: [{ token: MODULE_OPTIONS_TOKEN, optional: true }],
    },
  ],
  exports: [XRayRecorder],
})
export class XRayModule extends XRayConfigurableModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('XRay');
  private tracer: RequestTracer | undefined;

  constructor(
    @Optional() @Inject(XRAY_CHECKED_OPTIONS) private readonly options: XRayModuleOptions | undefined,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost | undefined,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    // Imported without forRoot() (by a library that builds on this one): the application configures it.
    if (this.options === undefined) return;
    // Frames of this package are left out of recorded stacks, like the core's own.
    registerInternalPath(dirname(fileURLToPath(import.meta.url)));
    const options = recorderOptions(this.options);
    recorder.configure({ LOGGER: this.logger, ...options });
    recorder.setErrorClassifier(errorFlag);
    await recorder.ready();
    if (!recorder.enabled) {
      this.logger.log('X-Ray tracing is disabled (AWS_XRAY_SDK_ENABLED).');
      return;
    }
    recordNestExceptions();
    const server = this.adapterHost?.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (server && typeof server.listeners === 'function') {
      this.tracer = new RequestTracer(this.options.EXCLUDE_ROUTES);
      this.tracer.install(server);
    }
    const cfg = recorder.config!;
    this.logger.log(
      `Tracing "${cfg.tracingName}" to the X-Ray daemon at ${cfg.daemonAddressText} ` +
        `(sampling: ${cfg.sampling ? (cfg.sampler ? 'custom sampler' : 'local rules') : 'every request'}).`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.options === undefined) return;
    this.tracer?.uninstall();
    this.tracer = undefined;
    await recorder.shutdown();
  }
}
