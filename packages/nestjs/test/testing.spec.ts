import 'reflect-metadata';

import { request as httpRequest } from 'node:http';

import { Controller, Get, Injectable, Module, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from '@jest/globals';

import { Subsegment } from '../src/decorators/subsegment.decorator.js';
import { captureXRay, XRayCapture, XRayTestingModule } from '../src/testing/index.js';
import { XRayModule } from '../src/xray.module.js';
import { XRayRecorder } from '../src/xray-recorder.service.js';

@Injectable()
class OrdersService {
  constructor(private readonly xray: XRayRecorder) {}

  @Subsegment()
  async find(id: string): Promise<{ id: string }> {
    this.xray.putAnnotation('order_id', id);
    return { id };
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get(':id')
  get(@Param('id') id: string) {
    return this.orders.find(id);
  }
}

/** An application module as users write it: UDP to a daemon, the default sampling rule. */
@Module({
  imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'orders', AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2999' })],
  controllers: [OrdersController],
  providers: [OrdersService],
})
class AppModule {}

function get(app: INestApplication, path: string): Promise<number> {
  const { port } = app.getHttpServer().address() as { port: number };
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

describe('@xrayjs/nestjs/testing', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function start(moduleRef: { createNestApplication(): INestApplication }): Promise<INestApplication> {
    const app = moduleRef.createNestApplication();
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return app;
  }

  it('XRayTestingModule traces a few providers into an injectable capture', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [XRayTestingModule.forRoot()], controllers: [OrdersController], providers: [OrdersService] }).compile();
    const app = await start(moduleRef);
    expect(await get(app, '/orders/7')).toBe(200);
    const capture = moduleRef.get(XRayCapture);
    const [segment] = await capture.waitForSegments({ route: '/orders/:id' });
    expect(segment).toMatchObject({ name: 'test', http: { response: { status: 200 } } });
    expect(capture.subsegments({ name: 'OrdersService.find' })).toEqual([expect.objectContaining({ parentId: segment.id, traceId: segment.trace_id, annotations: { order_id: '7' } })]);
    expect(capture.annotations({ route: '/orders/:id' })).toMatchObject({ nest_controller: 'OrdersController', nest_handler: 'get' });
  });

  it('captureXRay() captures an application module as written, every request sampled', async () => {
    const capture = new XRayCapture();
    const moduleRef = await captureXRay(Test.createTestingModule({ imports: [AppModule] }), capture).compile();
    const app = await start(moduleRef);
    for (let i = 0; i < 5; i++) expect(await get(app, `/orders/${i}`)).toBe(200);
    // Under the default rule (1 a second, then 5 %) most of these would not be sampled.
    const segments = await capture.waitForSegments({ name: 'orders' }, 5);
    expect(segments.map((s) => s.http?.request?.url)).toEqual([0, 1, 2, 3, 4].map((i) => expect.stringMatching(new RegExp(`/orders/${i}$`))));
    expect(app.get(XRayRecorder).config?.daemonAddressText).toBe('127.0.0.1:2999');
  });

  it('keeps two applications in one worker apart', async () => {
    const first = new XRayCapture();
    const second = new XRayCapture();
    const a = await start(await captureXRay(Test.createTestingModule({ imports: [AppModule] }), first).compile());
    const b = await start(await Test.createTestingModule({ imports: [XRayTestingModule.forRoot({ AWS_XRAY_TRACING_NAME: 'other' })], controllers: [OrdersController], providers: [OrdersService] }).compile());
    const bCapture = b.get(XRayCapture);
    await Promise.all([get(a, '/orders/a'), get(b, '/orders/b'), get(a, '/orders/a2')]);
    await first.waitForSegments({}, 2);
    await bCapture.waitForSegments({}, 1);
    expect(first.segments().map((s) => s.name)).toEqual(['orders', 'orders']);
    expect(bCapture.segments().map((s) => s.name)).toEqual(['other']);
    expect(second.documents).toEqual([]);
    expect(first.subsegments().map((s) => s.annotations?.order_id).sort()).toEqual(['a', 'a2']);
  });

  it('says what it captured when a wait times out', async () => {
    const capture = new XRayCapture();
    await expect(capture.waitForSegments({ route: '/nope' }, 1, 20)).rejects.toThrow(/expected 1 segment\(s\) matching {"route":"\/nope"} within 20 ms; captured: nothing/);
  });
});
