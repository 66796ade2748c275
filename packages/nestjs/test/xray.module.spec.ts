import 'reflect-metadata';

import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter, recorder, XRayConfigError } from '@xrayjs/core';

import { Subsegment } from '../src/decorators/subsegment.decorator.js';
import { XRayModule } from '../src/xray.module.js';
import type { XRayModuleOptions, XRayOptionsFactory } from '../src/xray-module-options.interface.js';
import { XRayRecorder } from '../src/xray-recorder.service.js';

const emitter = new InMemoryEmitter();

@Injectable()
class Settings {
  readonly name = 'from-settings';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

@Injectable()
class OptionsFactory implements XRayOptionsFactory {
  createXRayOptions(): XRayModuleOptions {
    return { AWS_XRAY_TRACING_NAME: 'from-class', EMITTER: emitter, LOGGER: false };
  }
}

@Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
class FactoryModule {}

@Injectable()
class StartupWork implements OnModuleInit {
  ran = false;

  constructor(readonly xray: XRayRecorder) {}

  @Subsegment()
  async onModuleInit(): Promise<void> {
    this.xray.putAnnotation('at_startup', true);
    this.ran = true;
  }
}

async function boot(root: unknown) {
  const app = await NestFactory.createApplicationContext(root as never, { logger: false, abortOnError: false });
  await app.init();
  return app;
}

describe('XRayModule', () => {
  afterEach(() => emitter.clear());

  it('forRoot() configures the recorder at init, and shutdown closes it', async () => {
    @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'sync', EMITTER: emitter, LOGGER: false })] })
    class App {}
    const app = await boot(App);
    expect(recorder.enabled).toBe(true);
    expect(recorder.config?.tracingName).toBe('sync');
    const xray = app.get(XRayRecorder);
    await xray.captureSegment('job', () => xray.capture('step', () => 1));
    expect(emitter.documents[0]).toMatchObject({ name: 'job', subsegments: [{ name: 'step' }] });
    await app.close();
    expect(recorder.enabled).toBe(false);
  });

  it('forRootAsync() with imports, inject and useFactory', async () => {
    @Module({
      imports: [
        XRayModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (s: Settings) => ({ AWS_XRAY_TRACING_NAME: s.name, EMITTER: emitter, LOGGER: false }),
        }),
      ],
    })
    class App {}
    const app = await boot(App);
    expect(recorder.config?.tracingName).toBe('from-settings');
    await app.close();
  });

  it('forRootAsync() with useClass and with useExisting', async () => {
    @Module({ imports: [XRayModule.forRootAsync({ useClass: OptionsFactory })] })
    class WithClass {}
    let app = await boot(WithClass);
    expect(recorder.config?.tracingName).toBe('from-class');
    await app.close();

    @Module({ imports: [XRayModule.forRootAsync({ imports: [FactoryModule], useExisting: OptionsFactory })] })
    class WithExisting {}
    app = await boot(WithExisting);
    // The first app's shutdown turned the recorder off: this one configured it again.
    expect(recorder.enabled).toBe(true);
    expect(recorder.config?.tracingName).toBe('from-class');
    await app.close();
  });

  it('fails the bootstrap with a message that names a bad key', async () => {
    @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'x', STREAMING_THRESHOLD: -5, SAMPLNG: true } as never)] })
    class App {}
    const error = await NestFactory.createApplicationContext(App, { logger: false, abortOnError: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XRayConfigError);
    expect((error as Error).message).toContain('STREAMING_THRESHOLD must be a whole number >= 0 (got -5)');
    expect((error as Error).message).toContain('unknown key SAMPLNG (did you mean SAMPLING?)');
  });

  it('fails the bootstrap without a tracing name', async () => {
    @Module({ imports: [XRayModule.forRootAsync({ useFactory: () => ({ EMITTER: emitter }) })] })
    class App {}
    const error = await NestFactory.createApplicationContext(App, { logger: false, abortOnError: false }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/AWS_XRAY_TRACING_NAME is missing/);
  });

  it('lets start-up code run outside any request under the default LOG_ERROR', async () => {
    const errors: string[] = [];
    @Module({
      imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'boot', EMITTER: emitter, LOGGER: { error: (m: string) => errors.push(m), warn: () => {} } })],
      providers: [StartupWork],
    })
    class App {}
    const app = await boot(App);
    expect(app.get(StartupWork).ran).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/cannot find the current segment/);
    expect(emitter.documents).toEqual([]);
    await app.close();
  });

  it('throws a clear error from start-up code under RUNTIME_ERROR', async () => {
    @Module({
      imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'boot', EMITTER: emitter, LOGGER: false, AWS_XRAY_CONTEXT_MISSING: 'RUNTIME_ERROR' })],
      providers: [StartupWork],
    })
    class App {}
    const error = await boot(App).catch((e: unknown) => e);
    expect((error as Error).name).toBe('SegmentNotFoundError');
    expect((error as Error).message).toMatch(/wrap the work in recorder\.captureSegment\(name, fn\)/);
  });

  it('can be imported without forRoot() by a library, leaving configuration to the app', async () => {
    @Module({ imports: [XRayModule], providers: [] })
    class Library {}
    @Module({ imports: [Library, XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'app', EMITTER: emitter, LOGGER: false })] })
    class App {}
    const app = await boot(App);
    expect(app.get(XRayRecorder)).toBeInstanceOf(XRayRecorder);
    expect(recorder.config?.tracingName).toBe('app');
    await app.close();
  });
});
