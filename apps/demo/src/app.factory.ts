import 'reflect-metadata';

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

import { AppModule } from './app.module.js';

export type DemoAdapter = 'express' | 'fastify';

/** Creates the demo app on Express (default) or Fastify. */
export async function createDemoApp(adapter: DemoAdapter, options: { logger?: false } = {}): Promise<INestApplication> {
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(), { ...options, abortOnError: false })
      : await NestFactory.create(AppModule, { ...options, abortOnError: false });
  app.enableShutdownHooks();
  return app;
}
