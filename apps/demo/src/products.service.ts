import { HttpService } from '@nestjs/axios';
import { Injectable, NotFoundException } from '@nestjs/common';
import { Subsegment } from '@xrayjs/nestjs';
import type { AxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';

/** Where the catalog service listens (`npm start` and the e2e suite set it). */
export function catalogUrl(): string {
  return process.env.CATALOG_URL ?? 'http://127.0.0.1:3001';
}

/**
 * Calls the catalog service over HTTP: once through `@nestjs/axios` (node:http underneath) and once
 * through the global `fetch`. Both calls are traced and carry the trace to the catalog with no code
 * for it here; they nest under this method's subsegment.
 */
@Injectable()
export class ProductsService {
  constructor(private readonly http: HttpService) {}

  @Subsegment()
  async product(sku: string): Promise<{ product: unknown; alsoFetched: boolean }> {
    const { data } = await firstValueFrom(this.http.get(`${catalogUrl()}/catalog/${encodeURIComponent(sku)}`)).catch((e: AxiosError) => {
      if (e.response?.status === 404) throw new NotFoundException(`no product ${sku} in the catalog`);
      throw e;
    });
    const again = await fetch(`${catalogUrl()}/catalog/${encodeURIComponent(sku)}`);
    await again.text();
    return { product: data, alsoFetched: again.ok };
  }
}
