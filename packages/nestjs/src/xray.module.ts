import { Inject, Logger, Module, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import { directoryOfCaller, Recorder, registerInternalPath, resolveConfig, type XRayOptions } from '@xrayjs/core';

import { errorFlag } from './http/exception-flag.js';
import { RequestTracer } from './http/request-tracer.js';
import { traceTemplates } from './templates/template-tracing.js';
import { recordNestExceptions } from './internals/exception-recording.js';
import { loadNestInternals, type NestInternals } from './internals/nest-internals.js';
import { installRouteAnnotations } from './internals/route-annotations.js';
import { XRayInterceptor } from './xray.interceptor.js';
import { XRAY_CHECKED_OPTIONS, XRAY_CORE_RECORDER, XRAY_NEST_HOOKS, XRAY_ROOT } from './xray.internal-constants.js';
import { XRAY_OPTIONS_OVERRIDE } from './xray.constants.js';
import { MODULE_OPTIONS_TOKEN, XRayConfigurableModule } from './xray.module-definition.js';
import type { XRayModuleOptions } from './xray-module-options.interface.js';
import { XRayRecorder } from './xray-recorder.service.js';

/** This package's directory (its frames are left out of recorded stacks, like the core's own). */
const PACKAGE_DIRECTORY = directoryOfCaller();

/** The module's options with the module's own keys split from the recorder's. @internal */
interface CheckedOptions {
  readonly module: XRayModuleOptions;
  readonly recorder: XRayOptions;
}

function check(options: XRayModuleOptions): CheckedOptions {
  const { EXCLUDE_ROUTES: _excluded, ...recorder } = options ?? {};
  resolveConfig(recorder); // a bad key fails the bootstrap here, with a message that names it
  return { module: options, recorder };
}

/** What this application holds of the Nest hooks. @internal */
export interface NestHooks {
  /** How route annotations and exceptions are recorded. */
  readonly mode: 'hooks' | 'interceptor';
  release(): void;
}

/**
 * Installs the two hooks in Nest's internals (route annotations in the router, exception recording in
 * `ExceptionsHandler`), or, when they cannot be installed (an unsupported Nest version, files that
 * moved), makes `XRayInterceptor` a global interceptor of the application being created: the same
 * annotations, exceptions thrown by handlers, at the interceptor pipeline's cost. Called while the
 * application is created, before Nest builds its routes, and only when tracing is on.
 * @internal
 */
export async function installNestHooks(config: ApplicationConfig, logger: Pick<Logger, 'warn'>, internals?: NestInternals): Promise<NestHooks> {
  const found = internals ?? (await loadNestInternals());
  const releases: (() => void)[] = [];
  const problems = [...found.problems];
  let complete = found.routerExecutionContext !== undefined && found.exceptionsHandler !== undefined;
  if (complete) {
    try {
      releases.push(installRouteAnnotations(found.routerExecutionContext!));
      releases.push(recordNestExceptions(found.exceptionsHandler!));
    } catch (e) {
      problems.push(`a hook could not be installed (${(e as Error).message})`);
      complete = false;
    }
  }
  if (!complete) {
    for (const release of releases.splice(0)) release();
    config.addGlobalInterceptor(new XRayInterceptor());
    logger.warn(
      `X-Ray: ${problems.join('; ')}. Route annotations and handler exceptions are recorded by a global interceptor instead ` +
        '(exceptions thrown by guards and middleware are then seen only through the response status).',
    );
  }
  let released = false;
  return {
    mode: complete ? 'hooks' : 'interceptor',
    release: () => {
      if (released) return;
      released = true;
      for (const release of releases) release();
    },
  };
}

/**
 * AWS X-Ray for NestJS. `XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'orders' })` (or
 * `forRootAsync({ imports, inject, useFactory | useClass | useExisting })`) traces every HTTP request
 * as a segment, on Express and Fastify alike; `@Subsegment()` traces methods; `XRayRecorder` is
 * injectable everywhere (the module is global).
 *
 * Nothing happens at import time. While the application is created, the options are checked (a bad
 * key fails the bootstrap with a message naming it) and the application's own recorder is configured;
 * when tracing is on, the module hooks into Nest's router and exception handling, and traces the HTTP
 * server's requests once the application initialises. On application shutdown it stops tracing this
 * application, releases its hooks and flushes its recorder; another application in the process keeps
 * tracing.
 */
@Module({
  providers: [
    XRayRecorder,
    // Keys merged over the options, `null` unless a test overrides it (see @xrayjs/nestjs/testing).
    { provide: XRAY_OPTIONS_OVERRIDE, useValue: null },
    {
      provide: XRAY_CHECKED_OPTIONS,
      useFactory: (options?: XRayModuleOptions, override?: Partial<XRayModuleOptions> | null) =>
        options === undefined ? null : check(override ? { ...options, ...override } : options),
      inject: [{ token: MODULE_OPTIONS_TOKEN, optional: true }, XRAY_OPTIONS_OVERRIDE],
    },
    {
      provide: XRAY_CORE_RECORDER,
      useFactory: async (checked: CheckedOptions | null) => {
        if (checked === null) return null;
        if (PACKAGE_DIRECTORY !== undefined) registerInternalPath(PACKAGE_DIRECTORY);
        const recorder = new Recorder().configure({ LOGGER: new Logger('XRay'), ...checked.recorder });
        recorder.setErrorClassifier(errorFlag);
        await recorder.ready();
        return recorder;
      },
      inject: [XRAY_CHECKED_OPTIONS],
    },
    {
      // Installed while the application is created, before Nest builds its routes.
      provide: XRAY_NEST_HOOKS,
      useFactory: async (recorder: Recorder | null, config: ApplicationConfig) =>
        recorder?.enabled ? installNestHooks(config, new Logger('XRay')) : null,
      inject: [XRAY_CORE_RECORDER, ApplicationConfig],
    },
  ],
  exports: [XRayRecorder],
})
export class XRayModule extends XRayConfigurableModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('XRay');
  private tracer: RequestTracer | undefined;
  private untraceTemplates: (() => void) | undefined;

  constructor(
    @Optional() @Inject(XRAY_CHECKED_OPTIONS) private readonly options: CheckedOptions | null,
    @Optional() @Inject(XRAY_CORE_RECORDER) private readonly recorder: Recorder | null,
    @Optional() @Inject(XRAY_NEST_HOOKS) private readonly hooks: NestHooks | null,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost | undefined,
    @Optional() @Inject(XRAY_ROOT) private readonly root: boolean | undefined,
  ) {
    super();
  }

  onModuleInit(): void {
    const recorder = this.recorder;
    // Imported without forRoot() (by a library that builds on this one): the application configures it.
    // When the application has no forRoot() either, nothing would be traced: say so once.
    if (!this.options || !recorder) {
      if (!this.root) {
        this.logger.warn(
          "XRayModule is imported, but XRayModule.forRoot() is not: nothing is traced. Import XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'my-service' }) " +
            '(or forRootAsync()) in the root module of the application.',
        );
      }
      return;
    }
    if (!recorder.enabled) {
      this.logger.log('X-Ray tracing is disabled (AWS_XRAY_SDK_ENABLED).');
      return;
    }
    const server = this.adapterHost?.httpAdapter?.getHttpServer?.() as object | undefined;
    if (server) {
      const tracer = new RequestTracer(recorder, this.options.module.EXCLUDE_ROUTES);
      if (tracer.install(server)) this.tracer = tracer;
      else this.logger.warn('XRayModule.forRoot() is imported more than once in this application; the first import traces its requests.');
    }
    if (recorder.instruments('templates') && this.untraceTemplates === undefined) {
      this.untraceTemplates = traceTemplates(this.adapterHost?.httpAdapter, (message) => this.logger.warn(message));
    }
    const cfg = recorder.config!;
    this.logger.log(
      `Tracing "${cfg.tracingName}" to the X-Ray daemon at ${cfg.daemonAddressText} ` +
        `(sampling: ${cfg.sampling ? (cfg.sampler ? 'custom sampler' : 'local rules') : 'every request'}).`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.options || !this.recorder) return;
    this.tracer?.uninstall();
    this.tracer = undefined;
    this.untraceTemplates?.();
    this.untraceTemplates = undefined;
    this.hooks?.release();
    await this.recorder.shutdown();
  }
}
