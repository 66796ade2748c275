import { createSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';

import { launchChromium } from '../../../apps/demo/test/support/browser.js';
import { LocalDaemon } from '../src/daemon.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const HEADER = '{"format":"json","version":1}\n';
const T0 = Date.now() / 1000 - 30;
const hex16 = (n: number): string => n.toString(16).padStart(16, '0');
const traceId = (n: number): string => `1-${Math.floor(T0).toString(16)}-${n.toString(16).padStart(24, '0')}`;

/** Markup that runs script if a page ever puts it into the DOM unescaped. */
const XSS = `<img src=x onerror="window.__xss=(window.__xss||0)+1"><svg onload="window.__xss=(window.__xss||0)+1"></svg><script>window.__xss=1</script>`;

/** Documents with the payload in every free-text field a page shows. */
function hostileDocuments(): object[] {
  const id = traceId(1);
  return [
    {
      name: 'shop', id: hex16(1), trace_id: id, start_time: T0, end_time: T0 + 0.8, fault: true,
      http: { request: { method: 'GET', url: `http://shop/${XSS}`, user_agent: XSS, client_ip: XSS }, response: { status: 500 } },
      annotations: { note: XSS }, metadata: { default: { [XSS]: XSS } }, user: XSS,
      aws: { operation: XSS },
      cause: { exceptions: [{ id: hex16(90), type: XSS, message: XSS, stack: [{ label: XSS, path: XSS, line: 1 }] }] },
      subsegments: [
        { name: 'db', id: hex16(2), start_time: T0 + 0.1, end_time: T0 + 0.5, namespace: 'remote', sql: { url: XSS, sanitized_query: XSS, database_type: XSS }, fault: true, cause: hex16(90) },
      ],
    },
    { name: 'slow', id: hex16(3), trace_id: traceId(2), start_time: T0 + 1, end_time: T0 + 3.5, http: { request: { method: 'GET', url: 'http://shop/slow' }, response: { status: 200 } } },
    { name: 'fast', id: hex16(4), trace_id: traceId(3), start_time: T0 + 2, end_time: T0 + 2.01, http: { request: { method: 'GET', url: 'http://shop/fast' }, response: { status: 200 } }, annotations: { tenant: 'acme' } },
    { name: 'shop', id: hex16(5), trace_id: traceId(4), start_time: T0 + 3, end_time: T0 + 3.2, http: { request: { method: 'POST', url: 'http://shop/orders' }, response: { status: 404 } }, error: true },
  ];
}

describe('the viewer in Chromium, against hostile data and other sites', () => {
  let daemon: LocalDaemon;
  let browser: Browser;
  let page: Page;
  let attacker: Server;
  let attackerUrl: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    daemon = await LocalDaemon.start({ address: '127.0.0.1:0', viewerPort: 0 });
    const socket = createSocket('udp4');
    const [host, port] = [daemon.udpAddress.split(':')[0], Number(daemon.udpAddress.split(':')[1])];
    for (const doc of hostileDocuments()) await new Promise<void>((r) => socket.send(HEADER + JSON.stringify(doc), port, host, () => r()));
    // A datagram the daemon rejects, with the payload in what the rejected page shows of it.
    await new Promise<void>((r) => socket.send(`${HEADER}${XSS}`, port, host, () => r()));
    socket.close();
    await daemon.waitFor((d) => d.store.size === 4 && d.stats().rejected === 1);
    // Another site the developer happens to visit: its page tries to wipe the traces.
    attacker = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><form id="f" method="POST" action="${daemon.viewerUrl}api/clear" enctype="text/plain"><input name='{"a":"' value='"}'></form>
        <form id="g" method="POST" action="${daemon.viewerUrl}api/clear"><input name="x" value="1"></form>
        <script>window.tryFetch = () => fetch('${daemon.viewerUrl}api/clear', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }).then(() => 'sent', (e) => String(e));</script>`);
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    attackerUrl = `http://localhost:${(attacker.address() as { port: number }).port}/`;
    const viewerPort = new URL(daemon.viewerUrl!).port;
    ({ browser } = await launchChromium([`--host-resolver-rules=MAP rebound.example 127.0.0.1`]));
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    void viewerPort;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => attacker?.close(r));
    await daemon?.stop();
  });

  it('shows every hostile field as text on every page, running none of it', async () => {
    const pages: [string, string][] = [
      ['#/traces', '#trace-list tbody tr'],
      [`#/trace/${traceId(1)}`, '#timeline .row'],
      ['#/map', '#service-map .node'],
      ['#/rejected', '#rejections tbody tr'],
    ];
    for (const [hash, ready] of pages) {
      await page.goto(`${daemon.viewerUrl}${hash}`);
      await page.waitForSelector(ready);
      if (hash.startsWith('#/trace/')) {
        for (const row of await page.locator('#timeline .row').all()) await row.click();
      }
      await new Promise((r) => setTimeout(r, 200)); // an onerror of an injected image would have fired
      const injected = await page.evaluate(() => ({ xss: (window as { __xss?: number }).__xss, imgs: document.querySelectorAll('main img, main svg:not(#service-map) , main script').length }));
      expect([hash, injected]).toEqual([hash, { xss: undefined, imgs: 0 }]);
    }
    // The payload is there, as text.
    await page.goto(`${daemon.viewerUrl}#/trace/${traceId(1)}`);
    await page.waitForSelector('#details');
    await expect(page.locator('#details').innerText()).resolves.toContain('<img src=x');
  });

  it('keeps the traces when another site posts a form, a text/plain body or a no-cors fetch to clear them', async () => {
    const other = await browser.newPage();
    await other.goto(attackerUrl);
    await Promise.all([other.waitForLoadState('load'), other.locator('#f').evaluate((f) => (f as HTMLFormElement).submit())]);
    await other.goto(attackerUrl);
    await Promise.all([other.waitForLoadState('load'), other.locator('#g').evaluate((f) => (f as HTMLFormElement).submit())]);
    await other.goto(attackerUrl);
    await other.evaluate(() => (window as unknown as { tryFetch(): Promise<string> }).tryFetch());
    await other.close();
    expect(daemon.store.size).toBe(4);
  });

  it('refuses a page reached through a name rebound to 127.0.0.1', async () => {
    const port = new URL(daemon.viewerUrl!).port;
    const rebound = await browser.newPage();
    const res = await rebound.goto(`http://rebound.example:${port}/api/traces`);
    expect(res?.status()).toBe(403);
    await expect(rebound.locator('body').innerText()).resolves.not.toContain(traceId(1));
    await rebound.close();
  });

  it('keeps filters and sort order in the URL (shareable, Back works), sorts by a column, searches and filters by duration', async () => {
    await page.goto(`${daemon.viewerUrl}#/traces`);
    await page.waitForSelector('#trace-list tbody tr');
    await page.click('#trace-list th[data-sort=duration]');
    await page.waitForFunction(() => location.hash.includes('sort=duration'));
    const durations = await page.locator('#trace-list tbody tr').evaluateAll((rows) => rows.map((r) => r.children[5].textContent));
    expect(durations[0]).toBe('2500 ms');
    await page.fill('input[name=min]', 'responsetime > 0.5');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 2);
    expect(page.url()).toContain('min=0.5');
    await page.fill('input[name=min]', '');
    await page.fill('input[name=q]', 'acme');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 1);
    const shared = page.url();
    expect(shared).toContain('q=acme');
    // Back: the previous filters again.
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 2);
    await expect(page.inputValue('input[name=min]')).resolves.toBe('0.5');
    // A shared link opens with its filters.
    const fresh = await browser.newPage();
    await fresh.goto(shared);
    await fresh.waitForFunction(() => document.querySelectorAll('#trace-list tbody tr').length === 1);
    await expect(fresh.inputValue('input[name=q]')).resolves.toBe('acme');
    await fresh.screenshot({ path: `${ARTIFACTS}viewer-filters.png` });
    // Fits a 1,366 px screen without horizontal scrolling.
    expect(await fresh.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await fresh.close();
  });

  it('draws the trace page with a time axis, folding, zoom, the details beside the timeline, exception links and raw JSON', async () => {
    await page.goto(`${daemon.viewerUrl}#/trace/${traceId(1)}`);
    await page.waitForSelector('#timeline .row[data-row]');
    const ticks = await page.locator('#timeline .tick').allInnerTexts();
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    expect(ticks[0]).toBe('0.0 ms');
    // The details drawer stands beside the timeline, not below it.
    const timeline = (await page.locator('#timeline').boundingBox())!;
    const drawer = (await page.locator('#details').boundingBox())!;
    expect(drawer.x).toBeGreaterThanOrEqual(timeline.x + timeline.width - 1);
    expect(drawer.y).toBeLessThan(timeline.y + timeline.height);
    // Fold the segment's subtree, and unfold it.
    expect(await page.locator('#timeline .row[data-row]').count()).toBe(2);
    await page.click('#timeline [data-fold="0"]');
    expect(await page.locator('#timeline .row[data-row]').count()).toBe(1);
    await page.click('#timeline [data-fold="0"]');
    expect(await page.locator('#timeline .row[data-row]').count()).toBe(2);
    // The subsegment refers to the exception its segment holds: the link selects the segment.
    await page.locator('#timeline .row[data-row="1"]').click();
    await expect(page.locator('#details').innerText()).resolves.toContain('Recorded on shop');
    await page.click('#details [data-exception]');
    await expect(page.locator('#details h2').first().innerText()).resolves.toContain('shop');
    // Zoom to the subsegment (0.1 s to 0.5 s of the trace): the axis spans 400 ms.
    await page.locator('#timeline .row[data-row="1"]').dblclick();
    await page.waitForSelector('#zoom-reset:not([hidden])');
    const zoomed = await page.locator('#timeline .tick').allInnerTexts();
    expect(zoomed[zoomed.length - 1]).toBe('400 ms');
    await page.click('#zoom-reset');
    await page.waitForSelector('#zoom-reset[hidden]', { state: 'attached' });
    // The raw JSON of the selected document, with a download.
    await page.locator('#timeline .row[data-row="1"]').click();
    const raw = JSON.parse(await page.locator('#raw-json').innerText()) as Record<string, unknown>;
    expect(raw).toMatchObject({ name: 'db', id: hex16(2) });
    const download = await page.locator('#download-json').evaluate((a) => [(a as HTMLAnchorElement).download, (a as HTMLAnchorElement).href.startsWith('blob:')]);
    expect(download).toEqual([`${hex16(2)}.json`, true]);
    await page.screenshot({ path: `${ARTIFACTS}viewer-trace-page.png` });
  });

  it('shows a loading state, then an error state when the API stops answering', async () => {
    const viewer = await browser.newPage();
    // Slow the API down to see the loading state.
    await viewer.route('**/api/traces?*', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await viewer.goto(daemon.viewerUrl!);
    await viewer.waitForSelector('#loading');
    await viewer.waitForSelector('#trace-list');
    await viewer.unroute('**/api/traces?*');
    await viewer.route('**/api/**', (route) => route.abort('connectionrefused'));
    await viewer.evaluate(() => (location.hash = '#/map'));
    await viewer.waitForSelector('#api-error');
    await expect(viewer.locator('#api-error').innerText()).resolves.toMatch(/did not answer/);
    await viewer.close();
  });
});
