import { Injectable, NotFoundException } from '@nestjs/common';
import { Subsegment, XRayRecorder } from '@xrayjs/nestjs';
import { delay, type Observable, of, map } from 'rxjs';

import { InventoryService } from './inventory.service.js';

export interface Order {
  id: string;
  item: string;
  quantity: number;
}

const ORDERS: Order[] = [
  { id: '1', item: 'keyboard', quantity: 2 },
  { id: '2', item: 'mouse', quantity: 1 },
  { id: '3', item: 'monitor', quantity: 4 },
];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
export class OrdersService {
  constructor(
    private readonly xray: XRayRecorder,
    private readonly inventory: InventoryService,
  ) {}

  /** A traced async method that annotates the request. */
  @Subsegment()
  async find(id: string): Promise<Order> {
    this.xray.currentSegment()?.putAnnotation('order_id', id);
    await pause(1);
    const order = ORDERS.find((o) => o.id === id);
    if (!order) throw new NotFoundException(`order ${id} not found`);
    return order;
  }

  /** Two subsegment calls in sequence (the benchmark's "two subsegments" route). */
  async summary(): Promise<{ orders: number; stock: number }> {
    const orders = await this.count();
    const stock = this.inventory.stockOf('keyboard');
    return { orders, stock };
  }

  @Subsegment()
  async count(): Promise<number> {
    return ORDERS.length;
  }

  /** Three siblings at once: each is its own subsegment, none nested in another. */
  async prices(): Promise<number[]> {
    return Promise.all(ORDERS.map((o) => this.inventory.priceOf(o.item)));
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
