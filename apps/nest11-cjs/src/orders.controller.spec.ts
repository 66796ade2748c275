import { request } from 'node:http';

import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { captureXRay, XRayCapture } from '@xrayjs/nestjs/testing';

import { AppModule } from './app.module';

function get(app: INestApplication, path: string): Promise<number> {
  const { port } = app.getHttpServer().address() as { port: number };
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

describe('OrdersController (CommonJS, Jest 29 + ts-jest)', () => {
  let app: INestApplication;
  let capture: XRayCapture;

  beforeEach(async () => {
    capture = new XRayCapture();
    const moduleRef: TestingModule = await captureXRay(Test.createTestingModule({ imports: [AppModule] }), capture).compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
  });

  afterEach(() => app.close());

  it('traces a request: the segment, its route and the subsegment of the service', async () => {
    expect(await get(app, '/orders/7')).toBe(200);
    const [segment] = await capture.waitForSegments({ route: '/orders/:id' });
    expect(segment).toMatchObject({ name: 'orders-cjs', http: { request: { method: 'GET' }, response: { status: 200 } }, annotations: { order_id: '7' } });
    expect(capture.subsegments({ name: 'OrdersService.find', traceId: segment.trace_id })).toHaveLength(1);
  });

  it('flags a 404 as an error, not a fault', async () => {
    expect(await get(app, '/orders/404')).toBe(404);
    const [segment] = await capture.waitForSegments({ status: 404 });
    expect(segment.error).toBe(true);
    expect(segment.fault).toBeUndefined();
  });
});
