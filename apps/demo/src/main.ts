import { createDemoApp, type DemoAdapter } from './app.factory.js';
import { READY_LINE } from './ready-line.js';

const adapter: DemoAdapter = process.env.XRAY_DEMO_ADAPTER === 'fastify' ? 'fastify' : 'express';
const port = Number(process.env.PORT ?? 3000);

const app = await createDemoApp(adapter);
await app.listen(port, '127.0.0.1');
// eslint-disable-next-line no-console
console.log(`${READY_LINE} (${adapter}) on http://127.0.0.1:${port}/ - segments go to the X-Ray daemon at ${process.env.AWS_XRAY_DAEMON_ADDRESS ?? '127.0.0.1:2000'}`);
