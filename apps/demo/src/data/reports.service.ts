import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';

import { PrismaClient } from '../prisma/generated/client.js';
import { connections } from './connections.js';

/**
 * Reports on the orders through Prisma 7 (driver adapter `@prisma/adapter-pg`). Each model operation is
 * a `prisma:Order.findMany`-style subsegment with pg's SQL beneath it, with no Prisma preview feature.
 */
@Injectable()
export class ReportsService implements OnModuleDestroy {
  private readonly prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: connections.postgres() }) });

  async bigOrders(): Promise<{ orders: { id: string; item: string; quantity: number }[]; totalQuantity: number }> {
    const [orders, total] = await Promise.all([
      this.prisma.order.findMany({ where: { quantity: { gte: 2 } }, orderBy: { quantity: 'desc' }, select: { id: true, item: true, quantity: true } }),
      this.prisma.order.aggregate({ _sum: { quantity: true } }),
    ]);
    return { orders, totalQuantity: total._sum.quantity ?? 0 };
  }

  async onModuleDestroy(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
