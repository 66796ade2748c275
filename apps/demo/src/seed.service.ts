import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { XRayRecorder } from '@xrayjs/nestjs';

/**
 * Start-up work outside any request, wrapped in a segment of its own (the README's recipe): without
 * the wrapper, its subsegments would hit the context-missing strategy.
 */
@Injectable()
export class SeedService implements OnApplicationBootstrap {
  seeded = 0;

  constructor(private readonly xray: XRayRecorder) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.xray.captureSegment('demo-seed', async () => {
      await this.xray.capture('load-fixtures', async () => {
        this.seeded = 3;
        this.xray.putAnnotation('fixtures', this.seeded);
      });
    });
  }
}
