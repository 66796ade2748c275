import { activeEntity } from '@xrayjs/core';

import { ANNOTATION_CONTROLLER, ANNOTATION_HANDLER, ANNOTATION_ROUTE } from '../xray.constants.js';
import { acquirePatch } from './patch-method.js';

/** What Express (`req.route.path`) and Fastify (`request.routeOptions.url`, older `routerPath`) expose. @internal */
export interface RouteCarrier {
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

/** Puts the route template and the controller and handler names on the current request segment. @internal */
export function annotateRoute(req: RouteCarrier | undefined, controller: string, handler: string): void {
  const segment = activeEntity()?.segment;
  if (segment === undefined || !segment.sampled) return;
  try {
    const route = req?.route?.path ?? req?.routeOptions?.url ?? req?.routerPath;
    if (typeof route === 'string') segment.putAnnotation(ANNOTATION_ROUTE, route);
    segment.putAnnotation(ANNOTATION_CONTROLLER, controller);
    segment.putAnnotation(ANNOTATION_HANDLER, handler);
  } catch {
    // enrichment is optional and never reaches the request
  }
}

type RouteHandler = (req: unknown, res: unknown, next: unknown) => unknown;

/**
 * Annotates every HTTP route's segment with its template and its controller and handler names, at the
 * cost of one function call per request. Nest builds one handler per route at start-up through
 * `RouterExecutionContext.prototype.create`; this wraps what it returns, where the controller and the
 * method are known. A global interceptor would see the same through `ExecutionContext`, but it turns
 * on Nest's interceptor pipeline (several Observables and an async scope per request) on every route,
 * which costs far more than the tracing itself. Returns the release of the patch.
 * @internal
 */
export function installRouteAnnotations(routerExecutionContext: object): () => void {
  return acquirePatch(routerExecutionContext, 'create', (original, isActive) =>
    function create(this: unknown, instance: unknown, callback: unknown, methodName: unknown, ...rest: unknown[]): unknown {
      const handler = original.call(this, instance, callback, methodName, ...rest);
      if (typeof handler !== 'function' || !isActive()) return handler;
      const controller = (instance as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? 'anonymous';
      const name = typeof methodName === 'string' ? methodName : String(methodName);
      const route = handler as RouteHandler;
      return function tracedRoute(req: unknown, res: unknown, next: unknown): unknown {
        annotateRoute(req as RouteCarrier, controller, name);
        return route(req, res, next);
      };
    },
  );
}
