import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';

import { connections } from './connections.js';
import type { Order } from './order.entity.js';

/**
 * A read-through cache of orders in Redis (ioredis). Each command is traced as a `redis@<host>`
 * subsegment with its name and key count, with no code here. When Redis is not there the cache is
 * skipped (commands fail at once instead of queueing), and the orders come from PostgreSQL.
 */
@Injectable()
export class OrderCache implements OnModuleDestroy {
  private readonly logger = new Logger(OrderCache.name);
  private readonly redis = new Redis(connections.redis(), { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 2000 });
  private warned = false;

  constructor() {
    this.redis.on('error', () => this.warnOnce());
    this.redis.connect().catch(() => this.warnOnce());
  }

  private warnOnce(): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(`Redis at ${connections.redis()} is not reachable: the order cache is skipped until it is.`);
  }

  private key(id: string): string {
    return `${connections.cachePrefix()}order:${id}`;
  }

  async get(id: string): Promise<Order | undefined> {
    const text = await this.redis.get(this.key(id)).catch(() => null);
    return text === null ? undefined : (JSON.parse(text) as Order);
  }

  async set(order: Order): Promise<void> {
    await this.redis.set(this.key(order.id), JSON.stringify(order), 'EX', 30).catch(() => undefined);
  }

  /** Forgets the cached `ids`, in one pipeline (one subsegment with the command count). */
  async forget(ids: string[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.del(this.key(id));
    await pipeline.exec().catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }
}
