import { RouterExecutionContext } from '@nestjs/core/router/router-execution-context.js';
import { recorder } from '@xrayjs/core';

import { ANNOTATION_CONTROLLER, ANNOTATION_HANDLER, ANNOTATION_ROUTE } from './xray.constants.js';

const PATCHED = Symbol.for('xrayjs.nestjs.route-annotations');

/** What Express (`req.route.path`) and Fastify (`request.routeOptions.url`, older `routerPath`) expose. @internal */
export interface RouteCarrier {
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

/** Puts the route template and the controller and handler names on the current request segment. @internal */
export function annotateRoute(req: RouteCarrier | undefined, controller: string, handler: string): void {
  const segment = recorder.activeEntity()?.segment;
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
type Create = (this: unknown, instance: unknown, callback: unknown, methodName: unknown, ...rest: unknown[]) => unknown;

/**
 * Annotates every HTTP route's segment with its template and its controller and handler names, at the
 * cost of one function call per request. Nest builds one handler per route at start-up through
 * `RouterExecutionContext.prototype.create`; this wraps what it returns, where the controller and the
 * method are known. A global interceptor would see the same through `ExecutionContext`, but it turns
 * on Nest's interceptor pipeline (several Observables and an async scope per request) on every route,
 * which costs far more than the tracing itself. Returns `false` when Nest's internals are not as
 * expected. Idempotent.
 * @internal
 */
export function installRouteAnnotations(): boolean {
  const proto = (RouterExecutionContext as unknown as { prototype?: Record<PropertyKey, unknown> } | undefined)?.prototype;
  if (!proto || typeof proto.create !== 'function') return false;
  if (proto[PATCHED]) return true;
  const original = proto.create as Create;
  proto.create = function create(this: unknown, instance: unknown, callback: unknown, methodName: unknown, ...rest: unknown[]): unknown {
    const handler = original.call(this, instance, callback, methodName, ...rest);
    if (typeof handler !== 'function') return handler;
    const controller = (instance as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? 'anonymous';
    const name = typeof methodName === 'string' ? methodName : String(methodName);
    const route = handler as RouteHandler;
    return function tracedRoute(req: unknown, res: unknown, next: unknown): unknown {
      annotateRoute(req as RouteCarrier, controller, name);
      return route(req, res, next);
    };
  };
  proto[PATCHED] = true;
  return true;
}
