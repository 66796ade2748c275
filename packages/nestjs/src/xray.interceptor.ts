import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';

import { recordOnSegment } from './internals/exception-recording.js';
import { annotateRoute, type RouteCarrier } from './internals/route-annotations.js';

/**
 * Adds what only Nest knows to the request segment: the route template and the controller and
 * handler names, as annotations so that they can be searched (`http_route`, `nest_controller`,
 * `nest_handler`), and keeps an exception the handler throws on the segment (its flags come from the
 * response status). `XRayModule` does the same on every route without it, through two hooks in Nest
 * that cost one call per request, and registers this interceptor globally only when those hooks
 * cannot be installed (an unsupported Nest version). Use it yourself (`@UseInterceptors(XRayInterceptor)`)
 * only for handlers Nest's HTTP router does not build.
 */
@Injectable()
export class XRayInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    annotateRoute(context.switchToHttp().getRequest<RouteCarrier>(), context.getClass().name, context.getHandler().name);
    return next.handle().pipe(tap({ error: recordOnSegment }));
  }
}
