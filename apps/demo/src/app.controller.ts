import { Body, Controller, Delete, Get, Header, HttpException, HttpStatus, Param, Post, Render, UseGuards } from '@nestjs/common';
import { Subsegment } from '@xrayjs/nestjs';
import type { Observable } from 'rxjs';

import { AdminGuard } from './admin.guard.js';
import { LegacyOrdersService } from './data/legacy-orders.service.js';
import { ReportsService } from './data/reports.service.js';
import { DemoError } from './demo-errors.filter.js';
import { OrdersService } from './orders.service.js';
import { ProductsService } from './products.service.js';

const ROUTES = [
  ['/orders/1', 'an order from PostgreSQL through TypeORM (a traced async method with an annotation; the query under it)'],
  ['/orders/1/cached', 'the same order read through the Redis cache (ioredis)'],
  ['/orders/1/page', 'the order rendered by a template (hbs on Express, @fastify/view on Fastify)'],
  ['/stats', 'two queries at once (sibling subsegments)'],
  ['/reports/big-orders', 'a report through Prisma 7 (prisma:Order.findMany, its SQL beneath)'],
  ['/archive', 'old orders from MySQL/MariaDB through mysql2 (503 when none is reachable)'],
  ['/orders/42', 'an order that does not exist (404: error)'],
  ['/summary', 'two subsegments in sequence'],
  ['/prices', 'three sibling subsegments at once'],
  ['/orders/1/watch', 'an Observable handler'],
  ['/boom', 'a route that throws (500: fault, with the stack)'],
  ['/limited', 'a throttled route (429: throttle)'],
  ['/admin', 'a guard that rejects (403)'],
  ['/health', 'excluded from tracing'],
  ['/slow', 'a slow route (300 ms)'],
  ['/products/keyboard', 'a call to the catalog service (axios and fetch), which reads DynamoDB and S3'],
  ['/products/nothing', 'the catalog answers 404 (the call is an error, the segment follows its own status)'],
];

@Controller()
export class AppController {
  constructor(
    private readonly orders: OrdersService,
    private readonly products: ProductsService,
    private readonly archive: LegacyOrdersService,
    private readonly reports: ReportsService,
  ) {}

  @Get('orders/:id/cached')
  cached(@Param('id') id: string) {
    return this.orders.findCached(id);
  }

  @Delete('orders/cached')
  forgetCached() {
    return this.orders.forgetCached();
  }

  @Get('orders/:id/page')
  @Render('order.hbs')
  async page(@Param('id') id: string) {
    return { order: await this.orders.find(id) };
  }

  @Get('stats')
  stats() {
    return this.orders.stats();
  }

  @Get('reports/big-orders')
  bigOrders() {
    return this.reports.bigOrders();
  }

  @Get('archive')
  archived() {
    return this.archive.larger(2);
  }

  @Get('products/:sku')
  product(@Param('sku') sku: string) {
    return this.products.product(sku);
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  home(): string {
    const links = ROUTES.map(([href, text]) => `<li><a href="${href}">${href}</a> ${text}</li>`).join('\n');
    return `<!doctype html><html><head><title>xrayjs demo</title></head><body><h1>xrayjs demo</h1><p>Each click makes a trace.</p><ul>${links}</ul></body></html>`;
  }

  @Post('orders')
  create(@Body() body: { item?: string }) {
    return { created: body.item ?? null };
  }

  @Get('slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { slow: true };
  }

  @Get('orders/:id')
  find(@Param('id') id: string) {
    return this.orders.find(id);
  }

  @Get('orders/:id/watch')
  watch(@Param('id') id: string): Observable<unknown> {
    return this.orders.watch(id);
  }

  @Get('summary')
  summary() {
    return this.orders.summary();
  }

  @Get('prices')
  prices() {
    return this.orders.prices();
  }

  // The decorator order does not matter: @Get's metadata survives the wrapper.
  @Subsegment('AppController.boom')
  @Get('boom')
  boom(): never {
    throw new DemoError('kaboom');
  }

  @Get('limited')
  limited(): never {
    throw new HttpException('slow down', HttpStatus.TOO_MANY_REQUESTS);
  }

  @Get('admin')
  @UseGuards(AdminGuard)
  admin() {
    return { admin: true };
  }

  @Get('health')
  health() {
    return { ok: true };
  }
}
