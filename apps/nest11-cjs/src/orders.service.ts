import { Injectable, NotFoundException } from '@nestjs/common';
import { Subsegment, XRayRecorder } from '@xrayjs/nestjs';

@Injectable()
export class OrdersService {
  constructor(private readonly xray: XRayRecorder) {}

  @Subsegment()
  async find(id: string): Promise<{ id: string; item: string }> {
    this.xray.currentSegment()!.putAnnotation('order_id', id);
    if (id === '404') throw new NotFoundException(`order ${id} not found`);
    return { id, item: 'keyboard' };
  }
}
