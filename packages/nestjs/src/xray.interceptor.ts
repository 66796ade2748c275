import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';

import { annotateRoute, type RouteCarrier } from './route-annotations.js';

/**
 * Adds what only Nest knows to the request segment: the route template and the controller and
 * handler names, as annotations so that they can be searched (`http_route`, `nest_controller`,
 * `nest_handler`). `XRayModule` puts the same annotations on every route without it, through a hook
 * in Nest's router that costs one call per request, and registers this interceptor globally only
 * when that hook cannot be installed. Use it yourself (`@UseInterceptors(XRayInterceptor)`) only for
 * handlers Nest's HTTP router does not build. It only enriches; the segment was opened before the
 * request reached Nest, and errors are recorded where Nest handles them.
 */
@Injectable()
export class XRayInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      annotateRoute(context.switchToHttp().getRequest<RouteCarrier>(), context.getClass().name, context.getHandler().name);
    }
    return next.handle();
  }
}
