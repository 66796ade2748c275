import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { HttpModule } from '@nestjs/axios';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { XRayModule } from '@xrayjs/nestjs';

import { AdminGuard } from './admin.guard.js';
import { AppController } from './app.controller.js';
import { connections } from './data/connections.js';
import { LegacyOrdersService } from './data/legacy-orders.service.js';
import { OrderCache } from './data/order-cache.service.js';
import { Order } from './data/order.entity.js';
import { ReportsService } from './data/reports.service.js';
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
    // The tables come from SeedService (SQL under an advisory lock), not from `synchronize`.
    TypeOrmModule.forRootAsync({ useFactory: () => ({ type: 'postgres', url: connections.postgres(), entities: [Order], synchronize: false }) }),
    TypeOrmModule.forFeature([Order]),
  ],
  controllers: [AppController],
  providers: [ProductsService, OrdersService, OrderCache, LegacyOrdersService, ReportsService, InventoryService, SeedService, AdminGuard, { provide: APP_FILTER, useClass: DemoErrorsFilter }],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('*');
  }
}
