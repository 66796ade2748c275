import { Module } from '@nestjs/common';
import { XRayModule } from '@xrayjs/nestjs';

import { CatalogController } from './catalog.controller.js';
import { CatalogService } from './catalog.service.js';

/** The catalog service: its own name in X-Ray, so the service map shows the demo calling it. */
@Module({
  imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'xrayjs-catalog', SAMPLING: false })],
  controllers: [CatalogController],
  providers: [CatalogService],
})
export class CatalogModule {}
