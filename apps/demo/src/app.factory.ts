import 'reflect-metadata';

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import handlebars from 'handlebars';

import { AppModule } from './app.module.js';

export type DemoAdapter = 'express' | 'fastify';

/** The templates (apps/demo/views), from src/ (tests) and from dist/ alike. */
const VIEWS = join(dirname(fileURLToPath(import.meta.url)), '../views');

/** Creates the demo app on Express (default) or Fastify, with its view engine (hbs; @fastify/view + handlebars). */
export async function createDemoApp(adapter: DemoAdapter, options: { logger?: false } = {}): Promise<INestApplication> {
  let app: INestApplication;
  if (adapter === 'fastify') {
    const fastify = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { ...options, abortOnError: false });
    fastify.setViewEngine({ engine: { handlebars }, templates: VIEWS } as never);
    app = fastify;
  } else {
    const express = await NestFactory.create<NestExpressApplication>(AppModule, { ...options, abortOnError: false });
    express.setBaseViewsDir(VIEWS);
    express.setViewEngine('hbs');
    app = express;
  }
  app.enableShutdownHooks();
  return app;
}
