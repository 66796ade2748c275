import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LocalDaemon } from '@xrayjs/local-daemon';
import type { Browser, Page } from 'playwright-core';
import { createSocket } from 'node:dgram';

import { externalService } from '../../../packages/core/test/support/services.js';
import { createDemoApp } from '../src/app.factory.js';
import { createCatalogApp } from '../src/catalog/catalog.factory.js';
import { startLocalAws, type LocalAws } from '../src/catalog/local-aws.js';
import { request } from './http-client.js';
import { launchChromium } from './support/browser.js';

const redis = await externalService('Redis (the demo\u2019s order cache)', 'REDIS', 6379);
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

/** Documents in the exact shape the official SDKs send: a service that calls another and a database. */
function downstreamDocuments(now: number): object[] {
  const traceId = `1-${Math.floor(now).toString(16)}-${'ab'.repeat(12)}`;
  return [
    {
      name: 'checkout', id: '1000000000000001', trace_id: traceId, start_time: now, end_time: now + 0.12, in_progress: false,
      http: { request: { method: 'POST', url: 'https://shop.example.com/checkout' }, response: { status: 200 } },
      aws: { xray: { sdk: 'X-Ray for Python', sdk_version: '2.15.0' } },
      subsegments: [
        { name: 'payments', id: '1000000000000002', start_time: now + 0.01, end_time: now + 0.08, in_progress: false, namespace: 'remote', traced: true,
          http: { request: { method: 'POST', url: 'http://payments.internal/charge' }, response: { status: 200 } } },
        { name: 'orders-db', id: '1000000000000003', start_time: now + 0.085, end_time: now + 0.1, in_progress: false, namespace: 'remote',
          sql: { url: 'postgresql://db.internal:5432/orders', database_type: 'PostgreSQL', sanitized_query: 'INSERT INTO orders VALUES ($1)' } },
      ],
    },
    {
      name: 'payments', id: '1000000000000004', trace_id: traceId, parent_id: '1000000000000002', start_time: now + 0.015, end_time: now + 0.075, in_progress: false,
      http: { request: { method: 'POST', url: 'http://payments.internal/charge' }, response: { status: 200 } },
      aws: { xray: { sdk: 'X-Ray for Node.js', sdk_version: '3.12.0' } },
    },
  ];
}

describe('trace viewer in headless Chromium, with the demo sending real traces', () => {
  let daemon: LocalDaemon;
  let app: INestApplication;
  let catalog: INestApplication;
  let localAws: LocalAws;
  let port: number;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0 });
    process.env.AWS_XRAY_DAEMON_ADDRESS = daemon.daemonAddress;
    localAws = await startLocalAws();
    process.env.CATALOG_DYNAMODB_ENDPOINT = localAws.dynamodbEndpoint;
    process.env.CATALOG_S3_ENDPOINT = localAws.s3Endpoint;
    catalog = await createCatalogApp('express', { logger: false });
    await catalog.listen(0, '127.0.0.1');
    process.env.CATALOG_URL = `http://127.0.0.1:${(catalog.getHttpServer().address() as { port: number }).port}`;
    app = await createDemoApp('express', { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
    for (const path of ['/orders/1', '/orders/2', '/orders/42', '/summary', '/prices', '/boom', '/admin', '/products/keyboard', '/orders/2/cached', '/stats', '/reports/big-orders']) await request(port, path, { 'x-tenant': 'acme' });
    // A service map needs downstream calls: send what an SDK of another service would send.
    const socket = createSocket('udp4');
    const [host, udpPort] = [daemon.udpAddress.split(':')[0], Number(daemon.udpAddress.split(':')[1])];
    for (const doc of downstreamDocuments(Date.now() / 1000)) {
      await new Promise<void>((r) => socket.send(`{"format":"json","version":1}\n${JSON.stringify(doc)}`, udpPort, host, () => r()));
    }
    // And one datagram that is not a valid document: the viewer lists it under "Rejected".
    await new Promise<void>((r) => socket.send('{"format":"json","version":1}\n{"name": "broken"', udpPort, host, () => r()));
    socket.close();
    const catalogCalls = (d: LocalDaemon) => d.serviceMap().edges.find((e) => e.from === 'xrayjs-demo' && e.to === 'xrayjs-catalog')?.requests ?? 0;
    await daemon.waitFor((d) => d.store.size >= 12 && d.stats().rejected === 1 && catalogCalls(d) === 2);
    const launched = await launchChromium();
    browser = launched.browser;
    process.stdout.write(`viewer tests: Chromium ${browser.version()} from ${launched.found.source} (${launched.found.executablePath})\n`);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await catalog?.close();
    await localAws?.stop();
    await daemon?.stop();
    delete process.env.AWS_XRAY_DAEMON_ADDRESS;
  });

  it('lists the traces and updates live', async () => {
    await page.goto(daemon.viewerUrl!);
    await page.waitForSelector('#trace-list tbody tr');
    const rows = await page.locator('#trace-list tbody tr').count();
    expect(rows).toBeGreaterThanOrEqual(8);
    await expect(page.locator('#trace-list').innerText()).resolves.toContain('/orders/42');
    await page.screenshot({ path: `${ARTIFACTS}viewer-traces.png`, fullPage: true });
    // A new request shows up without a reload, within a second.
    await request(port, '/orders/3');
    const sent = Date.now();
    await page.waitForFunction(() => document.querySelector('#trace-list')?.textContent?.includes('/orders/3'), undefined, { timeout: 5000 });
    const elapsed = Date.now() - sent;
    process.stdout.write(`viewer showed the new trace after ${elapsed} ms\n`);
    expect(elapsed).toBeLessThan(1000);
  });

  it('narrows the list with a filter, keeping what is typed across live updates', async () => {
    await page.fill('input[name=status]', '404');
    // A trace arrives while the filter is typed but not applied: the list redraws, the typed value stays.
    const before = await page.locator('#trace-list tbody tr').count();
    await request(port, '/summary');
    await page.waitForFunction((n) => document.querySelectorAll('#trace-list tbody tr').length === n + 1, before, { timeout: 5000 });
    await expect(page.inputValue('input[name=status]')).resolves.toBe('404');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 1);
    await expect(page.locator('#trace-list tbody').innerText()).resolves.toContain('/orders/42');
    await page.click('#reset');
    await page.check('input[name=errors]');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 3);
    const text = await page.locator('#trace-list tbody').innerText();
    expect(text).toContain('/boom');
    expect(text).toContain('/admin');
    await page.click('#reset');
    await page.fill('input[name=annotation]', 'order_id=2');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 1);
    await expect(page.locator('#trace-list tbody').innerText()).resolves.toContain('/orders/2');
    await page.click('#reset');
  });

  it('opens a trace with its nested timeline and details', async () => {
    await page.waitForSelector('#trace-list tbody tr');
    await page.locator('#trace-list tbody tr', { hasText: '/prices' }).first().click();
    await page.waitForSelector('#timeline .row');
    const names = await page.locator('#timeline .name').allInnerTexts();
    expect(names[0]).toContain('xrayjs-demo');
    expect(names.filter((n) => n.includes('InventoryService.priceOf'))).toHaveLength(3);
    // Subsegments are indented under their segment.
    const indents = await page.locator('#timeline .name').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.paddingLeft));
    expect(indents[0]).toBe('8px');
    expect(indents.slice(1).every((p) => p === '24px')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}viewer-trace.png`, fullPage: true });

    // One trace across both services: the demo's segment and the catalog's two, with the AWS calls.
    await page.goto(`${daemon.viewerUrl}#/traces`);
    await page.waitForSelector('#trace-list tbody tr');
    await page.locator('#trace-list tbody tr', { hasText: '/products/keyboard' }).first().click();
    await page.waitForSelector('#timeline .row');
    const across = await page.locator('#timeline .name').allInnerTexts();
    expect(across.filter((n) => n.includes('xrayjs-catalog'))).toHaveLength(2);
    expect(across.filter((n) => n.includes('DynamoDB'))).toHaveLength(2);
    expect(across.filter((n) => n.includes('S3'))).toHaveLength(2);
    await page.screenshot({ path: `${ARTIFACTS}viewer-trace-two-services.png`, fullPage: true });

    await page.goto(`${daemon.viewerUrl}#/traces`);
    await page.waitForSelector('#trace-list tbody tr');
    await page.locator('#trace-list tbody tr', { hasText: '/boom' }).first().click();
    await page.waitForSelector('#timeline .row');
    await page.locator('#timeline .name', { hasText: 'AppController.boom' }).click();
    const details = await page.locator('#details').innerText();
    expect(details).toContain('DemoError: kaboom');
    expect(details).toMatch(/app\.controller\.ts/);
  });

  it('shows rejected datagrams with the reason', async () => {
    await page.goto(`${daemon.viewerUrl}#/rejected`);
    await page.waitForSelector('#rejections tbody tr');
    await expect(page.locator('#rejected-count').innerText()).resolves.toBe('1');
    await expect(page.locator('#rejections tbody').innerText()).resolves.toContain('the document is not JSON');
    await page.screenshot({ path: `${ARTIFACTS}viewer-rejected.png`, fullPage: true });
  });

  it('draws the service map with the demo and the downstream edges', async () => {
    await page.goto(`${daemon.viewerUrl}#/map`);
    await page.waitForSelector('#service-map .node');
    const nodes = await page.locator('#service-map .node').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-node')}:${e.getAttribute('data-type')}`));
    expect(nodes).toEqual(expect.arrayContaining(['xrayjs-demo:service', 'checkout:service', 'payments:service', 'orders-db:database']));
    const edges = await page.locator('#service-map .edge').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-from')}->${e.getAttribute('data-to')}`));
    expect(edges).toEqual(expect.arrayContaining(['checkout->payments', 'checkout->orders-db']));
    const label = await page.locator('#service-map .edge[data-to="orders-db"] text').innerHTML();
    expect(label).toContain('1 req');
    // The demo calls the catalog service (axios, then fetch), which calls DynamoDB and S3 once per call.
    expect(nodes).toEqual(expect.arrayContaining(['xrayjs-catalog:service', 'DynamoDB:aws', 'S3:aws']));
    expect(edges).toEqual(expect.arrayContaining(['xrayjs-demo->xrayjs-catalog', 'xrayjs-catalog->DynamoDB', 'xrayjs-catalog->S3']));
    for (const to of ['xrayjs-catalog', 'S3']) {
      const from = to === 'xrayjs-catalog' ? 'xrayjs-demo' : 'xrayjs-catalog';
      await expect(page.locator(`#service-map .edge[data-from="${from}"][data-to="${to}"] text`).innerHTML()).resolves.toContain('2 req');
    }
    // The demo's database and cache are nodes of their own, with the number of calls on the edge.
    expect(nodes).toEqual(expect.arrayContaining(['postgres@127.0.0.1:database']));
    const sql = daemon.serviceMap().edges.find((e) => e.from === 'xrayjs-demo' && e.to === 'postgres@127.0.0.1')!;
    expect(sql.requests).toBeGreaterThanOrEqual(7); // orders 1, 2, 42, the cached miss, two for /stats, Prisma's
    await expect(page.locator('#service-map .edge[data-from="xrayjs-demo"][data-to="postgres@127.0.0.1"] text').innerHTML()).resolves.toContain(`${sql.requests} req`);
    if (redis.missing === undefined) {
      expect(nodes).toEqual(expect.arrayContaining([`redis@${redis.host}:database`]));
      const cache = daemon.serviceMap().edges.find((e) => e.from === 'xrayjs-demo' && e.to === `redis@${redis.host}`)!;
      await expect(page.locator(`#service-map .edge[data-from="xrayjs-demo"][data-to="redis@${redis.host}"] text`).innerHTML()).resolves.toContain(`${cache.requests} req`);
    }
    await page.screenshot({ path: `${ARTIFACTS}viewer-map.png`, fullPage: true });
  });
});
