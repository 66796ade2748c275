import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { HttpModule } from '@nestjs/axios';
import { APP_FILTER } from '@nestjs/core';
import { XRayModule } from '@xrayjs/nestjs';

import { AdminGuard } from './admin.guard.js';
import { AppController } from './app.controller.js';
import { DemoErrorsFilter } from './demo-errors.filter.js';
import { InventoryService } from './inventory.service.js';
import { OrdersService } from './orders.service.js';
import { ProductsService } from './products.service.js';
import { SeedService } from './seed.service.js';
import { TenantMiddleware } from './tenant.middleware.js';

@Module({
  imports: [
    XRayModule.forRoot({
      AWS_XRAY_TRACING_NAME: 'xrayjs-demo',
      // A demo should show every request; production keeps the default rule (1/s, then 5 %).
      SAMPLING: false,
      DYNAMIC_NAMING: '*.example.com',
      EXCLUDE_ROUTES: ['/health'],
    }),
    HttpModule,
  ],
  controllers: [AppController],
  providers: [ProductsService, OrdersService, InventoryService, SeedService, AdminGuard, { provide: APP_FILTER, useClass: DemoErrorsFilter }],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('*');
  }
}
