import 'reflect-metadata';

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Controller, Get, type INestApplication, Module, Render, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterEach, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter } from '@xrayjs/core';
import ejs from 'ejs';
import handlebars from 'handlebars';
import hbs from 'hbs';
import pug from 'pug';

import { validateSegmentDocument } from '../../core/test/support/conformance.js';
import { Subsegment } from '../src/decorators/subsegment.decorator.js';
import { XRayModule } from '../src/xray.module.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const views = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/views');

class Greeter {
  @Subsegment('Greeter.greet')
  greet(name: string): { name: string } {
    return { name };
  }
}

@Controller()
class ExpressPages {
  private readonly greeter = new Greeter();

  @Get('hello')
  @Render('hello')
  hello(): { name: string } {
    return this.greeter.greet('Ada');
  }

  @Get('list')
  list(@Res() res: { render(view: string, options: object): void }): void {
    res.render('list.ejs', { items: ['a', 'b'] });
  }

  @Get('card')
  card(@Res() res: { render(view: string, options: object): void }): void {
    res.render('card.pug', { title: 'Card' });
  }

  @Get('broken')
  @Render('broken')
  broken(): object {
    return {};
  }

  @Get('missing')
  @Render('no-such-template')
  missing(): object {
    return {};
  }
}

@Controller()
class FastifyPages {
  @Get('hello')
  @Render('hello.hbs')
  hello(): { name: string } {
    return { name: 'Grace' };
  }

  @Get('broken')
  @Render('broken.hbs')
  broken(): object {
    return {};
  }
}

function moduleFor(controller: new (...args: never[]) => unknown, emitter: InMemoryEmitter, autoInstrument: unknown = true): new () => unknown {
  @Module({
    imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'templates', EMITTER: emitter, SAMPLING: false, LOGGER: false, AUTO_INSTRUMENT: autoInstrument as never })],
    controllers: [controller],
  })
  class AppModule {}
  return AppModule;
}

/** Every subsegment of a document, depth first, with its parent's id. */
function subsegmentsOf(doc: Doc): (Doc & { parentId: string })[] {
  const out: (Doc & { parentId: string })[] = [];
  const walk = (entity: Doc): void => {
    for (const sub of (entity.subsegments as Doc[] | undefined) ?? []) {
      out.push({ ...sub, parentId: entity.id });
      walk(sub);
    }
  };
  walk(doc);
  return out;
}

describe('template rendering', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${await app!.getUrl()}${path}`.replace('[::1]', '127.0.0.1'));
    return { status: res.status, body: await res.text() };
  }

  async function settle(emitter: InMemoryEmitter, count: number): Promise<Doc[]> {
    for (let i = 0; i < 100 && emitter.documents.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    return emitter.documents as Doc[];
  }

  it('records @Render() and res.render() on Express (hbs, ejs, pug) as a local subsegment named after the template, with render errors', async () => {
    const emitter = new InMemoryEmitter();
    const express = await NestFactory.create<NestExpressApplication>(moduleFor(ExpressPages, emitter), { logger: false });
    express.setBaseViewsDir(views);
    express.setViewEngine('hbs');
    express.engine('hbs', hbs.__express);
    express.engine('ejs', ejs.renderFile);
    express.engine('pug', (pug as unknown as { __express: (path: string, options: object, cb: () => void) => void }).__express);
    app = express;
    await app.listen(0, '127.0.0.1');
    expect(await get('/hello')).toEqual({ status: 200, body: '<h1>Hello Ada</h1>\n' });
    expect(await get('/list')).toEqual({ status: 200, body: '<ul><li>a</li><li>b</li></ul>\n' });
    expect((await get('/card')).body).toBe('<div class="card"><h2>Card</h2></div>');
    expect((await get('/broken')).status).toBe(500);
    expect((await get('/missing')).status).toBe(500);
    const docs = await settle(emitter, 5);
    const byUrl = (path: string): Doc => docs.find((d) => d.http?.request?.url?.endsWith(path))!;

    const hello = subsegmentsOf(byUrl('/hello'));
    expect(hello.map((s) => [s.name, s.namespace, s.metadata?.template])).toEqual([
      ['Greeter.greet', 'local', undefined],
      ['hello', 'local', { name: 'hello', engine: 'hbs' }],
    ]);
    // The render runs after the handler: beside its subsegment, under the request.
    expect(hello[1].parentId).toBe(byUrl('/hello').id);
    expect(subsegmentsOf(byUrl('/list')).map((s) => s.name)).toEqual(['list.ejs']);
    expect(subsegmentsOf(byUrl('/card')).map((s) => s.name)).toEqual(['card.pug']);

    const [broken] = subsegmentsOf(byUrl('/broken'));
    expect(broken).toMatchObject({ name: 'broken', fault: true });
    expect(broken.cause.exceptions[0].message).toMatch(/missing-partial/);
    const [missing] = subsegmentsOf(byUrl('/missing'));
    expect(missing).toMatchObject({ name: 'no-such-template', fault: true });
    expect(missing.cause.exceptions[0].message).toMatch(/Failed to lookup view "no-such-template"/);
    for (const doc of docs) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('records @Render() on Fastify with @fastify/view, the render error included, and the page unchanged', async () => {
    const emitter = new InMemoryEmitter();
    const fastify = await NestFactory.create<NestFastifyApplication>(moduleFor(FastifyPages, emitter), new FastifyAdapter(), { logger: false });
    fastify.setViewEngine({ engine: { handlebars }, templates: views } as never);
    app = fastify;
    await app.listen(0, '127.0.0.1');
    expect(await get('/hello')).toEqual({ status: 200, body: '<h1>Hello Grace</h1>\n' });
    expect((await get('/broken')).status).toBe(500);
    const docs = await settle(emitter, 2);
    const byUrl = (path: string): Doc => docs.find((d) => d.http?.request?.url?.endsWith(path))!;
    expect(subsegmentsOf(byUrl('/hello')).map((s) => [s.name, s.namespace, s.fault])).toEqual([['hello.hbs', 'local', undefined]]);
    const [broken] = subsegmentsOf(byUrl('/broken'));
    expect(broken).toMatchObject({ name: 'broken.hbs', fault: true });
    expect(broken.cause.exceptions[0].message).toMatch(/missing-partial/);
    for (const doc of docs) expect(validateSegmentDocument(doc).errors).toBeNull();
  });

  it('records no template subsegment when AUTO_INSTRUMENT leaves templates out, and takes the hook out at close', async () => {
    const emitter = new InMemoryEmitter();
    const express = await NestFactory.create<NestExpressApplication>(moduleFor(ExpressPages, emitter, { templates: false }), { logger: false });
    express.setBaseViewsDir(views);
    express.setViewEngine('hbs');
    express.engine('hbs', hbs.__express);
    app = express;
    await app.listen(0, '127.0.0.1');
    expect((await get('/hello')).body).toBe('<h1>Hello Ada</h1>\n');
    const docs = await settle(emitter, 1);
    expect(subsegmentsOf(docs[0]).map((s) => s.name)).toEqual(['Greeter.greet']);

    const traced = new InMemoryEmitter();
    const other = await NestFactory.create<NestExpressApplication>(moduleFor(ExpressPages, traced), { logger: false });
    const instance = other.getHttpAdapter().getInstance() as { render: unknown };
    const original = instance.render;
    await other.init();
    expect(instance.render).not.toBe(original);
    await other.close();
    expect(instance.render).toBe(original);
  });
});
