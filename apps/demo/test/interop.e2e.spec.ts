import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { recorder as processRecorder } from '@xrayjs/core';

import { TestDaemon } from '../../../packages/core/test/support/udp-daemon.js';
import { createDemoApp } from '../src/app.factory.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Runs one of the official-SDK scripts in a process of its own and resolves with its first line. */
function runOfficial(script: string, env: Record<string, string>): { line: Promise<Record<string, unknown>>; kill(): void } {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`./support/${script}`, import.meta.url))], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  return { line: new Promise((resolve) => lines.once('line', (l: string) => resolve(JSON.parse(l) as Record<string, unknown>))), kill: () => child.kill() };
}

async function docsOf(daemon: TestDaemon, predicate: (d: Doc) => boolean): Promise<Doc> {
  for (let i = 0; i < 200; i++) {
    const found = (daemon.docs() as Doc[]).find(predicate);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('document not received');
}

describe('interop with the official X-Ray SDK for Node.js, both ways', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await TestDaemon.start();
  });
  afterAll(() => daemon.close());

  it('an Express service traced by aws-xray-sdk-express continues our trace, under our subsegment', async () => {
    const downstream = runOfficial('official-sdk-downstream.cjs', { DAEMON: daemon.address });
    try {
      const { port } = (await downstream.line) as { port: number };
      processRecorder.configure({ AWS_XRAY_TRACING_NAME: 'xrayjs-caller', AWS_XRAY_DAEMON_ADDRESS: daemon.address, SAMPLING: false, LOGGER: false });
      await processRecorder.ready();
      let traceId = '';
      await processRecorder.captureSegment('xrayjs-caller', async (segment) => {
        traceId = segment.trace_id;
        const res = await fetch(`http://127.0.0.1:${port}/`);
        expect(await res.text()).toBe('downstream ok');
      });
      const caller = await docsOf(daemon, (d) => d.name === 'xrayjs-caller');
      const call = caller.subsegments[0];
      const callee = await docsOf(daemon, (d) => d.name === 'official-downstream');
      expect(callee).toMatchObject({ trace_id: traceId, parent_id: call.id });
      expect(call.http.request.traced).toBeUndefined(); // the official SDK does not answer with the trace header
    } finally {
      downstream.kill();
      await processRecorder.shutdown();
    }
  });

  it('a client traced by aws-xray-sdk-core calls the demo, whose segment continues its trace', async () => {
    process.env.AWS_XRAY_DAEMON_ADDRESS = daemon.address;
    const app: INestApplication = await createDemoApp('express', { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const port = (app.getHttpServer().address() as { port: number }).port;
      const upstream = runOfficial('official-sdk-upstream.cjs', { DAEMON: daemon.address, TARGET: `http://127.0.0.1:${port}/orders/1` });
      const caller = (await upstream.line) as { traceId: string; subsegmentId: string; status: number; header: string };
      expect(caller.status).toBe(200);
      const demo = await docsOf(daemon, (d) => d.name === 'xrayjs-demo' && d.trace_id === caller.traceId);
      expect(demo.parent_id).toBe(caller.subsegmentId);
      expect(caller.header).toBe(`Root=${caller.traceId}`);
      const official = await docsOf(daemon, (d) => d.name === 'official-upstream');
      expect(official.trace_id).toBe(caller.traceId);
    } finally {
      await app.close();
      delete process.env.AWS_XRAY_DAEMON_ADDRESS;
    }
    // Each document, theirs and ours, is valid.
    expect(daemon.faults).toEqual([]);
  });
});
