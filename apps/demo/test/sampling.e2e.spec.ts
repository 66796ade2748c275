import 'reflect-metadata';

import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { XRayModule, XRayRecorder } from '@xrayjs/nestjs';
import { LocalDaemon } from '@xrayjs/local-daemon';

import { request } from './http-client.js';

const rule = (name: string, priority: number, fields: Record<string, unknown>) => ({
  RuleName: name, Priority: priority, FixedRate: 0, ReservoirSize: 0, ServiceName: '*', ServiceType: '*', Host: '*',
  HTTPMethod: '*', URLPath: '*', ResourceARN: '*', Version: 1, ...fields,
});

@Controller()
class ShopController {
  @Get('orders') orders() {
    return [];
  }
  @Get('health') health() {
    return 'ok';
  }
}

const RULES = [
  rule('orders-all', 10, { URLPath: '/orders*', FixedRate: 1, ServiceName: 'shop' }),
  rule('no-health', 1, { URLPath: '/health', HTTPMethod: 'GET' }),
  rule('Default', 10000, { FixedRate: 0, ReservoirSize: 0 }),
];

interface SamplerStats {
  mode: string;
  fallbacks: number;
  recoveries: number;
  rules: Array<{ ruleName: string }>;
}

async function until(what: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

describe('a NestJS app with XRayModule.forRoot({ AWS_XRAY_TRACING_NAME }) samples by the daemon\u2019s rules', () => {
  let daemon: LocalDaemon;
  let app: INestApplication;
  let port: number;
  const saved = process.env.AWS_XRAY_DAEMON_ADDRESS;

  beforeAll(async () => {
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: false });
    daemon.samplingApi.setRules(RULES);
    process.env.AWS_XRAY_DAEMON_ADDRESS = daemon.daemonAddress;
    // The local rules sample everything, so that a fallback to them shows in the decisions.
    const local = { version: 2, rules: [], default: { fixed_target: 0, rate: 1 } };
    @Module({ imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'shop', LOGGER: false, SAMPLING_RULES: local })], controllers: [ShopController] })
    class ShopModule {}
    app = await NestFactory.create(ShopModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(async () => {
    await app?.close();
    await daemon?.stop();
    if (saved === undefined) delete process.env.AWS_XRAY_DAEMON_ADDRESS;
    else process.env.AWS_XRAY_DAEMON_ADDRESS = saved;
  });

  it('should record /orders under the rule "orders-all" and leave /health unsampled', async () => {
    await request(port, '/orders'); // the first decision starts the pollers
    const sampler = () => app.get(XRayRecorder).stats().sampler as SamplerStats;
    const deadline = Date.now() + 5000;
    while (sampler().mode !== 'centralized' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sampler().rules.map((r) => r.ruleName)).toEqual(['no-health', 'orders-all', 'Default']);
    daemon.clear();
    for (let i = 0; i < 5; i++) {
      await request(port, '/orders');
      await request(port, '/health');
    }
    await daemon.waitForTraces(5);
    await new Promise((r) => setTimeout(r, 200)); // a /health segment, if any, would have arrived
    const traces = daemon.traces();
    expect(traces).toHaveLength(5);
    for (const t of traces) {
      const doc = daemon.trace(t.id)!.segments[0].doc as unknown as { name: string; http: { request: { url: string } }; aws: { xray: { sampling_rule_name?: string } } };
      expect(doc.name).toBe('shop');
      expect(doc.http.request.url).toMatch(/\/orders$/);
      expect(doc.aws.xray.sampling_rule_name).toBe('orders-all');
    }
  });
  it('should fall back to its local rules when the daemon goes away, and sample by the daemon\u2019s rules again when it is back', async () => {
    const recorder = app.get(XRayRecorder);
    const sampler = () => recorder.stats().sampler as SamplerStats;
    const sampledCount = () => recorder.stats().segmentsSampled;
    expect(sampler()).toMatchObject({ mode: 'centralized', fallbacks: 0 });
    const address = daemon.daemonAddress; // its UDP and TCP ports, for the daemon that comes back
    await daemon.stop();
    await request(port, '/health'); // counted: the next target poll reports it, and fails
    await until(() => sampler().mode === 'fallback', 15_000); // the next target poll (10 s)
    expect(sampler()).toMatchObject({ mode: 'fallback', fallbacks: 1 });
    let before = sampledCount();
    await request(port, '/health');
    expect(sampledCount()).toBe(before + 1); // the local rules (rate 1), not "no-health"
    daemon = await LocalDaemon.start({ address, viewerPort: false });
    daemon.samplingApi.setRules(RULES);
    await until(() => sampler().mode === 'centralized', 15_000); // the rules are retried every 10 s
    expect(sampler()).toMatchObject({ mode: 'centralized', fallbacks: 1, recoveries: 1 });
    before = sampledCount();
    await request(port, '/health');
    expect(sampledCount()).toBe(before); // "no-health" decides again
    await request(port, '/orders');
    await daemon.waitForTraces(1);
    const doc = daemon.trace(daemon.traces()[0].id)!.segments[0].doc as unknown as { aws: { xray: { sampling_rule_name?: string } } };
    expect(doc.aws.xray.sampling_rule_name).toBe('orders-all');
  }, 45_000);
});
