import { Controller, Get, Param } from '@nestjs/common';

import { CatalogService } from './catalog.service.js';

@Controller('catalog')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Get(':sku')
  product(@Param('sku') sku: string) {
    return this.catalog.product(sku);
  }
}
