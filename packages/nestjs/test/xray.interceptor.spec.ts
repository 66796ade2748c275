import 'reflect-metadata';

import { ApplicationConfig } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter, recorder } from '@xrayjs/core';
import { lastValueFrom, of } from 'rxjs';

import { XRayInterceptor } from '../src/xray.interceptor.js';
import { enableRouteAnnotations } from '../src/xray.module.js';

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

  it('is made global only when the router hook cannot be installed', () => {
    const hooked = new ApplicationConfig();
    expect(enableRouteAnnotations(hooked)).toBe('router-hook');
    expect(hooked.getGlobalInterceptors()).toEqual([]);
    const fallback = new ApplicationConfig();
    expect(enableRouteAnnotations(fallback, () => false)).toBe('interceptor');
    expect(fallback.getGlobalInterceptors()).toHaveLength(1);
    expect(fallback.getGlobalInterceptors()[0]).toBeInstanceOf(XRayInterceptor);
  });
});
