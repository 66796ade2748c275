import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { XRayRecorder } from '@xrayjs/nestjs';
import { DataSource } from 'typeorm';

import { ensureDemoSchema } from './data/demo-schema.js';

/**
 * Start-up work outside any request (the orders table and its fixtures), wrapped in a segment of its
 * own (the README's recipe): without the wrapper, its subsegments would hit the context-missing strategy.
 */
@Injectable()
export class SeedService implements OnApplicationBootstrap {
  seeded = 0;

  constructor(
    private readonly xray: XRayRecorder,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.xray.captureSegment('demo-seed', async () => {
      await this.xray.capture('load-fixtures', async () => {
        // Its SQL is traced too, under this subsegment.
        this.seeded = await ensureDemoSchema(this.dataSource);
        this.xray.putAnnotation('fixtures', this.seeded);
      });
    });
  }
}
