import 'reflect-metadata';

import { connect as connectHttp2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';

import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter } from '@xrayjs/core';

import { validateSegmentDocument } from '../../core/test/support/conformance.js';
import { Subsegment } from '../src/decorators/subsegment.decorator.js';
import { XRayModule } from '../src/xray.module.js';
import { XRayRecorder } from '../src/xray-recorder.service.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

class DomainError extends Error {
  constructor(readonly kind: 'missing' | 'benign') {
    super(`domain: ${kind}`);
  }
}

/** An application filter that turns a domain error into a 404, or answers 200 for a benign one. */
@Catch(DomainError)
class DomainFilter implements ExceptionFilter {
  catch(error: DomainError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status?: (n: number) => unknown; code?: (n: number) => unknown; send?: (b: unknown) => unknown; json?: (b: unknown) => unknown }>();
    const status = error.kind === 'missing' ? 404 : 200;
    const body = { handled: error.kind };
    if (typeof res.code === 'function') {
      res.code(status);
      res.send!(body);
    } else {
      res.status!(status);
      res.json!(body);
    }
  }
}

@Controller('annotate')
class AnnotatingController {
  constructor(private readonly xray: XRayRecorder) {}

  @Get()
  @Subsegment()
  annotate(): { ok: boolean } {
    // Written against the documented API, without `?.`: must work when tracing is off or unsampled.
    this.xray.currentSegment()!.putAnnotation('tenant', 'acme');
    this.xray.currentSubsegment()!.putMetadata('step', 1);
    this.xray.currentEntity()!.putAnnotation('entity', true);
    return { ok: true };
  }
}

class Lookup {
  @Subsegment('Lookup.find')
  async find(kind: string): Promise<never> {
    await Promise.resolve();
    throw new DomainError(kind === 'benign' ? 'benign' : 'missing');
  }
}

@Controller()
class ItemsController {
  private readonly lookup = new Lookup();

  @Get('missing')
  missing(): Promise<never> {
    return this.lookup.find('missing');
  }

  @Get('benign')
  benign(): never {
    throw new DomainError('benign');
  }

  @Get('broken')
  broken(): never {
    throw new Error('unhandled');
  }

  @Get('ok')
  ok(): { ok: boolean } {
    return { ok: true };
  }
}

function appModule(emitter: InMemoryEmitter) {
  @Module({
    imports: [
      XRayModule.forRoot({
        AWS_XRAY_TRACING_NAME: 'items',
        EMITTER: emitter,
        LOGGER: false,
        DYNAMIC_NAMING: '*.example.com',
        SAMPLING_RULES: {
          version: 2,
          rules: [{ description: 'api host', host: 'api.example.com', http_method: '*', url_path: '*', fixed_target: 0, rate: 1 }],
          default: { fixed_target: 0, rate: 0 },
        },
      }),
    ],
    controllers: [ItemsController],
    providers: [{ provide: APP_FILTER, useClass: DomainFilter }],
  })
  class AppModule {}
  return AppModule;
}

/** A plain HTTP/1.1 request written to a socket, so that the request line is exactly as given. */
function rawRequest(port: number, requestLine: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
      const out: Record<string, string> = {};
      for (const line of lines) out[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      socket.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers: out });
    });
    socket.on('error', reject);
    const head = Object.entries({ connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`${requestLine}\r\n${head}\r\n`);
  });
}

async function segments(emitter: InMemoryEmitter, count: number): Promise<Doc[]> {
  for (let i = 0; i < 100 && emitter.documents.filter((d) => d.type === undefined).length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return emitter.documents.filter((d) => d.type === undefined) as Doc[];
}

describe.each(['express', 'fastify'] as const)('request tracing on %s', (adapter) => {
  const emitter = new InMemoryEmitter();
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    const AppModule = appModule(emitter);
    app = adapter === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false }) : await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(() => app.close());

  const get = (path: string) => rawRequest(port, `GET ${path} HTTP/1.1`, { host: 'api.example.com' });

  it('should let the final status decide the flags of an error a filter handled, keeping the exception', async () => {
    emitter.clear();
    expect((await get('/missing')).status).toBe(404);
    expect((await get('/benign')).status).toBe(200);
    expect((await get('/broken')).status).toBe(500);
    const [missing, benign, broken] = await segments(emitter, 3);
    // 404 from the filter: an error, not a fault; the subsegment that threw keeps its fault.
    expect(missing).toMatchObject({ error: true, http: { response: { status: 404 } }, subsegments: [{ name: 'Lookup.find', fault: true }] });
    expect(missing).not.toHaveProperty('fault');
    expect(missing.cause).toBe(missing.subsegments[0].cause.exceptions[0].id);
    // 200 from the filter: no flag at all, the exception is still there.
    expect(benign).toMatchObject({ http: { response: { status: 200 } }, cause: { exceptions: [{ type: 'DomainError', message: 'domain: benign' }] } });
    for (const flag of ['fault', 'error', 'throttle']) expect(benign).not.toHaveProperty(flag);
    // Not handled: Nest answers 500, a fault with the exception.
    expect(broken).toMatchObject({ fault: true, http: { response: { status: 500 } }, cause: { exceptions: [{ message: 'unhandled' }] } });
    for (const doc of emitter.documents) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('should make one segment per request when the server has more request listeners', async () => {
    // A second listener added before the module starts tracing (a library, or main.ts before init).
    const own = new InMemoryEmitter();
    const AppModule = appModule(own);
    const other = adapter === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false }) : await NestFactory.create(AppModule, { logger: false });
    const seen: unknown[] = [];
    (other.getHttpServer() as { on(event: string, fn: () => void): void }).on('request', () => void seen.push(1));
    await other.listen(0, '127.0.0.1');
    try {
      const otherPort = (other.getHttpServer().address() as { port: number }).port;
      const reply = await rawRequest(otherPort, 'GET /ok HTTP/1.1', { host: 'api.example.com' });
      expect(reply.status).toBe(200);
      const docs = await segments(own, 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toHaveLength(1);
      expect(own.documents.filter((d) => d.type === undefined)).toHaveLength(1);
      // The answer points at the segment that was sent.
      expect(reply.headers['x-amzn-trace-id']).toBe(`Root=${docs[0].trace_id}`);
      expect(docs[0].http.response.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('should read an absolute-form request target (its host wins over Host), with no doubled scheme', async () => {
    emitter.clear();
    const reply = await rawRequest(port, 'GET http://api.example.com/ok?x=1 HTTP/1.1', { host: 'ignored.internal' });
    expect(reply.status).toBe(200);
    const [doc] = await segments(emitter, 1);
    expect(doc.http.request.url).toBe('http://api.example.com/ok?x=1');
    expect(doc.name).toBe('api.example.com');
  });
});

describe.each(['express', 'fastify'] as const)('code written against the API on %s', (adapter) => {
  it.each([
    ['tracing disabled', { AWS_XRAY_SDK_ENABLED: false }],
    ['an unsampled request', { AWS_XRAY_TRACING_NAME: 'a', SAMPLING_RULES: { version: 2, rules: [], default: { fixed_target: 0, rate: 0 } } }],
  ])('should run unchanged with %s', async (_, options) => {
    const emitter = new InMemoryEmitter();
    @Module({ imports: [XRayModule.forRoot({ ...options, EMITTER: emitter, LOGGER: false })], controllers: [AnnotatingController] })
    class AppModule {}
    const app = adapter === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false }) : await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const reply = await rawRequest((app.getHttpServer().address() as { port: number }).port, 'GET /annotate HTTP/1.1', { host: 'localhost' });
      expect(reply.status).toBe(200);
      expect(emitter.documents).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('request tracing over HTTP/2 (Fastify http2: true)', () => {
  const emitter = new InMemoryEmitter();
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    app = await NestFactory.create(appModule(emitter), new FastifyAdapter({ http2: true } as never), { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(() => app.close());

  function h2(authority: string, path: string): Promise<{ status: number; trace: string | undefined }> {
    return new Promise((resolve, reject) => {
      const client = connectHttp2(`http://127.0.0.1:${port}`);
      client.on('error', reject);
      const req = client.request({ ':path': path, ':authority': authority });
      let status = 0;
      let trace: string | undefined;
      req.on('response', (headers) => {
        status = Number(headers[':status']);
        trace = headers['x-amzn-trace-id'] as string | undefined;
      });
      req.resume();
      req.on('end', () => {
        client.close();
        resolve({ status, trace });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('should take the host from :authority for the URL, dynamic naming and host-specific sampling rules', async () => {
    const sampled = await h2('api.example.com', '/ok?v=2');
    const unsampled = await h2('other.example.com', '/ok');
    expect(sampled.status).toBe(200);
    expect(unsampled.status).toBe(200);
    const docs = await segments(emitter, 1);
    await new Promise((r) => setTimeout(r, 50));
    // Only the rule for api.example.com samples (the default rule samples nothing).
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ name: 'api.example.com', http: { request: { method: 'GET', url: 'http://api.example.com/ok?v=2' }, response: { status: 200 } } });
    expect(sampled.trace).toBe(`Root=${docs[0].trace_id}`);
    expect(unsampled.trace).toMatch(/^Root=1-/);
    expect(validateSegmentDocument(docs[0]).errors).toBeNull();
  });
});
