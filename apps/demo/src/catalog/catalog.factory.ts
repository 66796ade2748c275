import 'reflect-metadata';

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

import type { DemoAdapter } from '../app.factory.js';
import { CatalogModule } from './catalog.module.js';

/** Creates the catalog service on Express (default) or Fastify. */
export async function createCatalogApp(adapter: DemoAdapter, options: { logger?: false } = {}): Promise<INestApplication> {
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(CatalogModule, new FastifyAdapter(), { ...options, abortOnError: false })
      : await NestFactory.create(CatalogModule, { ...options, abortOnError: false });
  app.enableShutdownHooks();
  return app;
}
