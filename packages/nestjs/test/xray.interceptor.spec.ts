import 'reflect-metadata';

import { ApplicationConfig } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter, recorder } from '@xrayjs/core';
import { lastValueFrom, of, throwError } from 'rxjs';

import { XRayInterceptor } from '../src/xray.interceptor.js';
import { loadNestInternals } from '../src/internals/nest-internals.js';
import { isPatched } from '../src/internals/patch-method.js';
import { installNestHooks } from '../src/xray.module.js';

const emitter = new InMemoryEmitter();

class OrdersController {
  find(): string {
    return 'found';
  }
}

// The module annotates routes through a hook in Nest's router; the interceptor is its fallback and is
// public for handlers the router does not build. Here it runs with Nest's own ExecutionContextHost.
describe('XRayInterceptor', () => {
  beforeAll(async () => {
    recorder.configure({ AWS_XRAY_TRACING_NAME: 'interceptor', SAMPLING: false, EMITTER: emitter, LOGGER: false });
    await recorder.ready();
  });
  afterAll(() => recorder.shutdown());

  const contextFor = (req: object) => new ExecutionContextHost([req, {}], OrdersController, OrdersController.prototype.find);

  it('annotates the request segment with the route, the controller and the handler', async () => {
    const result = await recorder.captureSegment('req', () =>
      lastValueFrom(new XRayInterceptor().intercept(contextFor({ route: { path: '/orders/:id' } }), { handle: () => of('found') })),
    );
    expect(result).toBe('found');
    await recorder.flush();
    expect(emitter.documents.at(-1)).toMatchObject({ annotations: { http_route: '/orders/:id', nest_controller: 'OrdersController', nest_handler: 'find' } });
  });

  it('reads the Fastify route template', async () => {
    await recorder.captureSegment('req', () =>
      lastValueFrom(new XRayInterceptor().intercept(contextFor({ routeOptions: { url: '/items/:sku' } }), { handle: () => of(1) })),
    );
    await recorder.flush();
    expect((emitter.documents.at(-1)?.annotations as object)).toMatchObject({ http_route: '/items/:sku' });
  });

  it('passes through untouched outside a segment and for unsampled requests', async () => {
    await expect(lastValueFrom(new XRayInterceptor().intercept(contextFor({}), { handle: () => of(2) }))).resolves.toBe(2);
    const unsampled = await recorder.captureSegment(
      'req',
      async (segment) => {
        await expect(lastValueFrom(new XRayInterceptor().intercept(contextFor({ route: { path: '/x' } }), { handle: () => of(3) }))).resolves.toBe(3);
        return segment!;
      },
      { sampled: false },
    );
    expect(unsampled.sampled).toBe(false);
    expect(unsampled.annotations).toBeUndefined();
  });

  it('records an exception the handler throws on the segment, with no flag (the status decides)', async () => {
    const error = new Error('handler failed');
    await recorder
      .captureSegment('req', () =>
        lastValueFrom(new XRayInterceptor().intercept(contextFor({ route: { path: '/x' } }), { handle: () => throwError(() => error) })),
      )
      .catch(() => {});
    const doc = emitter.documents.at(-1) as Record<string, unknown>;
    expect(doc).toMatchObject({ cause: { exceptions: [{ message: 'handler failed' }] } });
    // captureSegment itself records the rejection as a fault; the interceptor added no flag of its own.
    expect((doc.cause as { exceptions: unknown[] }).exceptions).toHaveLength(1);
  });
});

describe('Nest hooks', () => {
  const warnings: string[] = [];
  const logger = { warn: (m: string) => warnings.push(m) };

  it('installs the router and exception hooks on a supported Nest, without a global interceptor', async () => {
    const internals = await loadNestInternals();
    expect(internals.problems).toEqual([]);
    expect(internals.version).toMatch(/^1[12]\./);
    const config = new ApplicationConfig();
    const hooks = await installNestHooks(config, logger, internals);
    expect(hooks.mode).toBe('hooks');
    expect(config.getGlobalInterceptors()).toEqual([]);
    expect(isPatched(internals.routerExecutionContext!, 'create')).toBe(true);
    expect(isPatched(internals.exceptionsHandler!, 'next')).toBe(true);
    hooks.release();
    expect(isPatched(internals.routerExecutionContext!, 'create')).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('falls back to the interceptor, and says why, when Nest is not a version it knows', async () => {
    const config = new ApplicationConfig();
    const hooks = await installNestHooks(config, logger, { version: '13.0.0', exceptionsHandler: undefined, routerExecutionContext: undefined, problems: ['@nestjs/core 13.0.0 is not a version xrayjs hooks into (11, 12)'] });
    expect(hooks.mode).toBe('interceptor');
    expect(config.getGlobalInterceptors()).toHaveLength(1);
    expect(config.getGlobalInterceptors()[0]).toBeInstanceOf(XRayInterceptor);
    expect(warnings.at(-1)).toMatch(/13\.0\.0 is not a version xrayjs hooks into.*global interceptor/);
  });

  it('falls back when a hook cannot be installed, and leaves nothing half-installed', async () => {
    const internals = await loadNestInternals();
    const config = new ApplicationConfig();
    const broken = { version: internals.version, routerExecutionContext: internals.routerExecutionContext, exceptionsHandler: { next: 'not a function' } as never, problems: [] };
    const hooks = await installNestHooks(config, logger, broken);
    expect(hooks.mode).toBe('interceptor');
    expect(isPatched(internals.routerExecutionContext!, 'create')).toBe(false);
  });
});
