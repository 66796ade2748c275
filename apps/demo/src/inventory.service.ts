import { Injectable } from '@nestjs/common';
import { NoSubsegment, Subsegment } from '@xrayjs/nestjs';

const STOCK: Record<string, number> = { keyboard: 12, mouse: 40, monitor: 3 };
const PRICES: Record<string, number> = { keyboard: 49, mouse: 19, monitor: 199 };

/** Every method is a subsegment (class-level `@Subsegment()`), except the one marked `@NoSubsegment()`. */
@Subsegment()
@Injectable()
export class InventoryService {
  stockOf(item: string): number {
    return STOCK[this.normalize(item)] ?? 0;
  }

  async priceOf(item: string): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    return PRICES[this.normalize(item)] ?? 0;
  }

  @NoSubsegment()
  normalize(item: string): string {
    return item.trim().toLowerCase();
  }
}
