import { activeEntity, prepareAnnotations, type PreparedAnnotations } from '@xrayjs/core';

import { ANNOTATION_CONTROLLER, ANNOTATION_HANDLER, ANNOTATION_ROUTE } from '../xray.constants.js';
import { acquirePatch } from './patch-method.js';

/** What Express (`req.route.path`) and Fastify (`request.routeOptions.url`, older `routerPath`) expose. @internal */
export interface RouteCarrier {
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

/**
 * The annotations of one handler, prepared once per route template it is reached by (usually one),
 * so that a request pays neither for checking them nor for serializing them. @internal
 */
export class RouteAnnotationCache {
  private readonly byRoute = new Map<string | undefined, PreparedAnnotations | null>();

  constructor(
    private readonly controller: string,
    private readonly handler: string,
  ) {}

  get(route: string | undefined): PreparedAnnotations | null {
    let prepared = this.byRoute.get(route);
    if (prepared === undefined) {
      const values: Record<string, string> = {};
      if (route !== undefined) values[ANNOTATION_ROUTE] = route;
      values[ANNOTATION_CONTROLLER] = this.controller;
      values[ANNOTATION_HANDLER] = this.handler;
      // null: a value putAnnotation would cut or drop (a template over 1,000 characters); put one by one.
      prepared = prepareAnnotations(values) ?? null;
      // Templates are a handler's few paths; bounded all the same.
      if (this.byRoute.size < 64) this.byRoute.set(route, prepared);
    }
    return prepared;
  }
}

function routeOf(req: RouteCarrier | undefined): string | undefined {
  const route = req?.route?.path ?? req?.routeOptions?.url ?? req?.routerPath;
  return typeof route === 'string' ? route : undefined;
}

/** Puts the route template and the controller and handler names on the current request segment. @internal */
export function annotateRoute(req: RouteCarrier | undefined, controller: string, handler: string, cache?: RouteAnnotationCache): void {
  const segment = activeEntity()?.segment;
  if (segment === undefined || !segment.sampled) return;
  try {
    const route = routeOf(req);
    const prepared = cache?.get(route);
    if (prepared) {
      segment.putAnnotations(prepared);
      return;
    }
    if (route !== undefined) segment.putAnnotation(ANNOTATION_ROUTE, route);
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
      const cache = new RouteAnnotationCache(controller, name);
      return function tracedRoute(req: unknown, res: unknown, next: unknown): unknown {
        annotateRoute(req as RouteCarrier, controller, name, cache);
        return route(req, res, next);
      };
    },
  );
}
