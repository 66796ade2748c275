import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Subsegment, XRayRecorder } from '@xrayjs/nestjs';
import { delay, type Observable, of, map } from 'rxjs';
import type { Repository } from 'typeorm';

import { ORDER_FIXTURES } from './data/demo-schema.js';
import { OrderCache } from './data/order-cache.service.js';
import { Order } from './data/order.entity.js';
import { InventoryService } from './inventory.service.js';

/** The orders, in PostgreSQL through TypeORM: each query is traced under the method that runs it. */
@Injectable()
export class OrdersService {
  constructor(
    private readonly xray: XRayRecorder,
    private readonly inventory: InventoryService,
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    private readonly cache: OrderCache,
  ) {}

  /** A traced async method that annotates the request; its query nests under it. */
  @Subsegment()
  async find(id: string): Promise<Order> {
    this.xray.currentSegment()?.putAnnotation('order_id', id);
    const order = await this.orders.findOneBy({ id });
    if (!order) throw new NotFoundException(`order ${id} not found`);
    return order;
  }

  /** Read through the Redis cache: a GET, and on a miss the query and a SET. */
  @Subsegment()
  async findCached(id: string): Promise<{ order: Order; cached: boolean }> {
    const hit = await this.cache.get(id);
    if (hit !== undefined) return { order: hit, cached: true };
    const order = await this.orders.findOneBy({ id });
    if (!order) throw new NotFoundException(`order ${id} not found`);
    await this.cache.set(order);
    return { order, cached: false };
  }

  /** Forgets the cached orders (one Redis pipeline). */
  async forgetCached(): Promise<{ forgotten: number }> {
    const ids = ORDER_FIXTURES.map((o) => o.id);
    await this.cache.forget(ids);
    return { forgotten: ids.length };
  }

  /** Two queries at once: sibling subsegments under the request. */
  async stats(): Promise<{ orders: number; quantity: number }> {
    const [orders, quantity] = await Promise.all([this.orders.count(), this.orders.sum('quantity', {})]);
    return { orders, quantity: quantity ?? 0 };
  }

  /** Two subsegment calls in sequence (the benchmark's "two subsegments" route). */
  async summary(): Promise<{ orders: number; stock: number }> {
    const orders = await this.count();
    const stock = this.inventory.stockOf('keyboard');
    return { orders, stock };
  }

  @Subsegment()
  async count(): Promise<number> {
    return ORDER_FIXTURES.length;
  }

  /** Three siblings at once: each is its own subsegment, none nested in another. */
  async prices(): Promise<number[]> {
    return Promise.all(ORDER_FIXTURES.map((o) => this.inventory.priceOf(o.item)));
  }

  /** An Observable: the subsegment spans subscription to completion. */
  @Subsegment('OrdersService.watch')
  watch(id: string): Observable<{ id: string; status: string }> {
    return of('received', 'packed', 'shipped').pipe(
      delay(5),
      map((status) => ({ id, status })),
    );
  }
}
