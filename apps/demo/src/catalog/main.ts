import { CATALOG_READY_LINE } from '../ready-line.js';
import { createCatalogApp } from './catalog.factory.js';

const app = await createCatalogApp(process.env.XRAY_DEMO_ADAPTER === 'fastify' ? 'fastify' : 'express');
const port = Number(process.env.CATALOG_PORT ?? 3001);
await app.listen(port, '127.0.0.1');
// eslint-disable-next-line no-console
console.log(`${CATALOG_READY_LINE} on http://127.0.0.1:${port}/`);
