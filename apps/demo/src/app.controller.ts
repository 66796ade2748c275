import { Body, Controller, Get, Header, HttpException, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import { Subsegment } from '@xrayjs/nestjs';
import type { Observable } from 'rxjs';

import { AdminGuard } from './admin.guard.js';
import { DemoError } from './demo-errors.filter.js';
import { OrdersService } from './orders.service.js';
import { ProductsService } from './products.service.js';

const ROUTES = [
  ['/orders/1', 'an order (a traced async method with an annotation)'],
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
  ) {}

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
