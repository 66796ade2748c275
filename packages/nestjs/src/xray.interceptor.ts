import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { recorder } from '@xrayjs/core';
import type { Observable } from 'rxjs';

import { ANNOTATION_CONTROLLER, ANNOTATION_HANDLER, ANNOTATION_ROUTE } from './xray.constants.js';

interface RouteCarrier {
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

/**
 * Adds what only Nest knows to the request segment: the route template and the controller and
 * handler names, as annotations so that they can be searched (`http_route`, `nest_controller`,
 * `nest_handler`). Registered globally by `XRayModule`. It only enriches; the segment was opened
 * before the request reached Nest, and errors are recorded where Nest handles them.
 */
@Injectable()
export class XRayInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const segment = recorder.activeEntity()?.segment;
      if (segment?.sampled) {
        try {
          const req = context.switchToHttp().getRequest<RouteCarrier>();
          const route = req.route?.path ?? req.routeOptions?.url ?? req.routerPath;
          if (typeof route === 'string') segment.putAnnotation(ANNOTATION_ROUTE, route);
          segment.putAnnotation(ANNOTATION_CONTROLLER, context.getClass().name);
          segment.putAnnotation(ANNOTATION_HANDLER, context.getHandler().name);
        } catch {
          // enrichment is optional
        }
      }
    }
    return next.handle();
  }
}
