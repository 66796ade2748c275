import 'reflect-metadata';

import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter, recorder, XRayConfigError } from '@xrayjs/core';

import { Subsegment } from '../src/decorators/subsegment.decorator.js';
import { XRayModule } from '../src/xray.module.js';
import type { XRayModuleOptions, XRayOptionsFactory } from '../src/xray-module-options.interface.js';
import { XRayRecorder } from '../src/xray-recorder.service.js';
import { loadNestInternals } from '../src/internals/nest-internals.js';
import { isPatched, patchHolders } from '../src/internals/patch-method.js';

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
    const xray = app.get(XRayRecorder);
    expect(xray.enabled).toBe(true);
    expect(xray.config?.tracingName).toBe('sync');
    // The application's own recorder, not the process-wide one.
    expect(xray.recorder).not.toBe(recorder);
    await xray.captureSegment('job', () => xray.capture('step', () => 1));
    expect(emitter.documents[0]).toMatchObject({ name: 'job', subsegments: [{ name: 'step' }] });
    await app.close();
    expect(xray.enabled).toBe(false);
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
    expect(app.get(XRayRecorder).config?.tracingName).toBe('from-settings');
    await app.close();
  });

  it('forRootAsync() with useClass and with useExisting', async () => {
    @Module({ imports: [XRayModule.forRootAsync({ useClass: OptionsFactory })] })
    class WithClass {}
    let app = await boot(WithClass);
    expect(app.get(XRayRecorder).config?.tracingName).toBe('from-class');
    await app.close();

    @Module({ imports: [XRayModule.forRootAsync({ imports: [FactoryModule], useExisting: OptionsFactory })] })
    class WithExisting {}
    app = await boot(WithExisting);
    expect(app.get(XRayRecorder).enabled).toBe(true);
    expect(app.get(XRayRecorder).config?.tracingName).toBe('from-class');
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
    expect(app.get(XRayRecorder).config?.tracingName).toBe('app');
    await app.close();
  });

  describe('two applications in one process', () => {
    it('keep their own configuration and documents, and closing one leaves the other tracing', async () => {
      const first = new InMemoryEmitter();
      const second = new InMemoryEmitter();
      @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'first', EMITTER: first, LOGGER: false, SAMPLING: false })] })
      class First {}
      @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'second', EMITTER: second, LOGGER: false, SAMPLING: false, STREAMING_THRESHOLD: 3 })] })
      class Second {}
      const a = await boot(First);
      const b = await boot(Second);
      const xa = a.get(XRayRecorder);
      const xb = b.get(XRayRecorder);
      // The second forRoot did not replace the first one's configuration.
      expect(xa.config?.tracingName).toBe('first');
      expect(xa.config?.streamingThreshold).toBe(30);
      expect(xb.config?.tracingName).toBe('second');
      xa.captureSegment(undefined, () => {});
      xb.captureSegment(undefined, () => {});
      expect(first.documents.map((d) => d.name)).toEqual(['first']);
      expect(second.documents.map((d) => d.name)).toEqual(['second']);
      await a.close();
      expect(xa.enabled).toBe(false);
      expect(xb.enabled).toBe(true);
      xb.captureSegment('after-first-closed', () => xb.capture('step', () => 1));
      expect(second.documents.at(-1)).toMatchObject({ name: 'after-first-closed', subsegments: [{ name: 'step' }] });
      expect(first.documents).toHaveLength(1);
      await b.close();
    });
  });

  describe('Nest hooks', () => {
    it('are installed only while a tracing application holds them, once for two, and released by the last', async () => {
      const { exceptionsHandler, routerExecutionContext } = await loadNestInternals();
      // Applications of earlier tests whose bootstrap failed may still hold them: count from here.
      const base = patchHolders(exceptionsHandler!, 'next');
      const holders = () => [patchHolders(exceptionsHandler!, 'next') - base, patchHolders(routerExecutionContext!, 'create') - base];
      expect(patchHolders(routerExecutionContext!, 'create')).toBe(base);

      // Imported without forRoot(), or with tracing disabled: nothing is patched.
      @Module({ imports: [XRayModule] })
      class Bare {}
      const bare = await boot(Bare);
      expect(holders()).toEqual([0, 0]);
      await bare.close();
      @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_SDK_ENABLED: false, LOGGER: false })] })
      class Disabled {}
      const disabled = await boot(Disabled);
      expect(holders()).toEqual([0, 0]);
      await disabled.close();

      @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'one', EMITTER: emitter, LOGGER: false })] })
      class One {}
      @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'two', EMITTER: emitter, LOGGER: false })] })
      class Two {}
      const one = await boot(One);
      const wrapped = exceptionsHandler!.next;
      const two = await boot(Two);
      expect(holders()).toEqual([2, 2]);
      // Idempotent: the second application did not wrap the wrapper.
      expect(exceptionsHandler!.next).toBe(wrapped);
      await one.close();
      expect(holders()).toEqual([1, 1]);
      await two.close();
      expect(holders()).toEqual([0, 0]);
      if (base === 0) {
        expect(isPatched(exceptionsHandler!, 'next')).toBe(false);
        expect(exceptionsHandler!.next).not.toBe(wrapped);
      }
    });
  });
});
