import { Injectable, type NestMiddleware } from '@nestjs/common';
import { XRayRecorder } from '@xrayjs/nestjs';

/** A Nest middleware: it already runs inside the request's segment, on Express and on Fastify. */
@Injectable()
export class TenantMiddleware implements NestMiddleware {
  constructor(private readonly xray: XRayRecorder) {}

  use(req: { headers: Record<string, string | string[] | undefined> }, _res: unknown, next: () => void): void {
    const tenant = req.headers['x-tenant'];
    if (typeof tenant === 'string') this.xray.putAnnotation('tenant', tenant);
    next();
  }
}
