import { Module } from '@nestjs/common';
import { XRayModule } from '@xrayjs/nestjs';

import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'orders-cjs', SAMPLING: false })],
  controllers: [OrdersController],
  providers: [OrdersService],
})
export class AppModule {}
