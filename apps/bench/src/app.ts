import 'reflect-metadata';

import { createRequire } from 'node:module';

import { request as httpRequest } from 'node:http';

import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Controller, Get, Inject, Injectable, Module, Param, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Subsegment, XRayModule } from '@xrayjs/nestjs';
import pg from 'pg';

import { SERVICE_NAME, type Variant } from './variants.js';

const require = createRequire(import.meta.url);

/** Wraps a unit of work the way a variant traces it. */
type Wrap = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

const WORK = Symbol('WORK');
const POOL = Symbol('POOL');
const CALLS = Symbol('CALLS');

/** The route with outgoing calls: one HTTP GET (node:http) to a local callee and one DynamoDB GetItem. */
class Calls {
  readonly dynamo = new DynamoDBClient({ endpoint: process.env.BENCH_DYNAMODB_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });

  httpGet(): Promise<number> {
    return new Promise((resolve, reject) => {
      httpRequest(process.env.BENCH_CALLEE_URL ?? 'http://127.0.0.1:9/', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });
  }

  async run(): Promise<{ status: number; found: boolean }> {
    const status = await this.httpGet();
    const item = await this.dynamo.send(new GetItemCommand({ TableName: 'bench', Key: { id: { S: '1' } } }));
    return { status, found: item.Item !== undefined };
  }
}

interface Work {
  first(): Promise<number>;
  second(): Promise<number>;
}

async function step(n: number): Promise<number> {
  await Promise.resolve();
  return n * 2;
}

/** xrayjs: the real decorator. */
@Injectable()
class DecoratedWork implements Work {
  @Subsegment('first')
  first(): Promise<number> {
    return step(1);
  }

  @Subsegment('second')
  second(): Promise<number> {
    return step(2);
  }
}

/** The peers (and the untraced app) wrap the same work with their own API. */
class WrappedWork implements Work {
  constructor(private readonly wrap: Wrap) {}

  first(): Promise<number> {
    return this.wrap('first', () => step(1));
  }

  second(): Promise<number> {
    return this.wrap('second', () => step(2));
  }
}

@Controller()
class BenchController {
  constructor(
    @Inject(WORK) private readonly work: Work,
    @Inject(POOL) private readonly pool: pg.Pool,
    @Inject(CALLS) private readonly outgoing: Calls,
  ) {}

  @Get('calls')
  calls() {
    return this.outgoing.run();
  }

  @Get('trivial')
  trivial() {
    return { ok: true };
  }

  @Get('two')
  async two() {
    const a = await this.work.first();
    const b = await this.work.second();
    return { sum: a + b };
  }

  /** One parameterized query through a pg pool, traced by each variant's own pg instrumentation (no code here). */
  @Get('db')
  async db() {
    const { rows } = await this.pool.query('SELECT id, name FROM items WHERE id = $1', [1 + Math.floor(Math.random() * 10)]);
    return rows[0];
  }

  @Get('throw')
  throws(): never {
    throw new Error('bench failure');
  }

  @Get('__heap/:gc')
  heap(@Param('gc') gc: string) {
    if (gc === 'gc') (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage();
  }
}

function awsWrap(): Wrap {
  const AWSXRay = require('aws-xray-sdk-core') as {
    captureAsyncFunc: (name: string, fn: (sub: { close(err?: unknown): void }) => void) => void;
  };
  return (name, fn) =>
    new Promise((resolve, reject) => {
      AWSXRay.captureAsyncFunc(name, (sub) => {
        fn().then(
          (v) => {
            sub.close();
            resolve(v);
          },
          (e: unknown) => {
            sub.close(e);
            reject(e);
          },
        );
      });
    });
}

async function otelWrap(): Promise<Wrap> {
  const { trace, SpanStatusCode } = await import('@opentelemetry/api');
  const tracer = trace.getTracer('bench');
  return (name, fn) =>
    tracer.startActiveSpan(name, async (span) => {
      try {
        return await fn();
      } catch (e) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw e;
      } finally {
        span.end();
      }
    });
}

/** Builds the NestJS app of a variant; everything else is identical. */
export async function createBenchApp(variant: Variant, pgUrl: string) {
  const imports: DynamicModule[] = [];
  let work: Work;
  if (variant === 'xrayjs' || variant === 'xrayjs-default') {
    // BENCH_DISCARD_DOCUMENTS=1 (diagnostic): documents are made but not sent, to see the emitter's share.
    const discard = process.env.BENCH_DISCARD_DOCUMENTS === '1' ? { EMITTER: { send() {}, flush: async () => {}, shutdown: async () => {} } } : {};
    // xrayjs: every request sampled. xrayjs-default: the default rule (1 a second, then 5 %), decided
    // locally: no daemon answers the sampling API here, and the centralized sampler would fall back to it.
    imports.push(XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: SERVICE_NAME, LOGGER: false, ...discard, ...(variant === 'xrayjs' ? { SAMPLING: false } : { SAMPLER: 'local' }) }));
    work = new DecoratedWork();
  } else if (variant === 'aws-xray-sdk') {
    work = new WrappedWork(awsWrap());
  } else if (variant === 'opentelemetry') {
    work = new WrappedWork(await otelWrap());
  } else {
    work = new WrappedWork((_name, fn) => fn());
  }
  if (variant === 'aws-xray-sdk') {
    // The official SDK's PostgreSQL set-up: aws-xray-sdk-postgres patches pg.Client.prototype.query.
    (require('aws-xray-sdk-postgres') as (pg: unknown) => unknown)(require('pg'));
  }
  const pool = new pg.Pool({ connectionString: pgUrl, max: 4 });
  const calls = new Calls();
  if (variant === 'aws-xray-sdk') {
    // The official SDK's set-up for outgoing calls: every http/https request, and this client.
    const AWSXRay = require('aws-xray-sdk-core') as { captureHTTPsGlobal(m: unknown): void; captureAWSv3Client<C>(c: C): C };
    AWSXRay.captureHTTPsGlobal(require('node:http'));
    AWSXRay.captureAWSv3Client(calls.dynamo);
  }

  @Module({
    imports,
    controllers: [BenchController],
    providers: [
      { provide: WORK, useValue: work },
      { provide: POOL, useValue: pool },
      { provide: CALLS, useValue: calls },
    ],
  })
  class BenchModule {}

  const app = await NestFactory.create(BenchModule, { logger: false });
  if (variant === 'aws-xray-sdk') {
    const AWSXRay = require('aws-xray-sdk-core') as {
      middleware: { disableCentralizedSampling(): void; setSamplingRules(rules: object): void };
      setContextMissingStrategy(s: string): void;
    };
    const xrayExpress = require('aws-xray-sdk-express') as { openSegment(name: string): unknown; closeSegment(): unknown };
    AWSXRay.middleware.disableCentralizedSampling();
    AWSXRay.middleware.setSamplingRules({ version: 2, default: { fixed_target: 0, rate: 1 }, rules: [] });
    AWSXRay.setContextMissingStrategy('IGNORE_ERROR');
    app.use(xrayExpress.openSegment(SERVICE_NAME));
  }
  app.enableShutdownHooks();
  return { app, pool };
}
