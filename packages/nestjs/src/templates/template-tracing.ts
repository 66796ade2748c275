import { activeEntity, isNoop, type Subsegment } from '@xrayjs/core';

import { acquirePatch } from '../internals/patch-method.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Callback = (error: unknown, html?: unknown) => unknown;

/**
 * Begins the `local` subsegment of rendering `template`, under the current entity, when its recorder
 * has the `templates` instrumentation on and the request is sampled; `undefined` otherwise.
 */
function beginRender(template: unknown, engine: unknown): Subsegment | undefined {
  const parent = activeEntity();
  if (parent === undefined || isNoop(parent)) return undefined;
  const recorder = parent.segment.recorder;
  if (recorder === undefined || !parent.segment.isSampled || !recorder.instruments('templates')) return undefined;
  const name = typeof template === 'string' && template.length > 0 ? template : 'template';
  const sub = recorder.beginSubsegment(name, { parent });
  if (isNoop(sub)) return undefined;
  const data: Record<string, unknown> = { name };
  if (typeof engine === 'string' && engine.length > 0) data.engine = engine;
  sub.metadata = { template: data };
  return sub;
}

function end(sub: Subsegment, error: unknown): void {
  if (error !== null && error !== undefined) sub.addError(error);
  sub.close();
}

/**
 * Express: `res.render()` and `@Render()` (which calls it) end in the application's `app.render(name,
 * options, callback)`, an own method of each Express application; the subsegment spans the view
 * engine's work and closes when it calls back, with its error if it fails.
 */
function traceExpress(app: { render?: unknown; get?: (setting: string) => unknown }): () => void {
  return acquirePatch(app, 'render', (original, isActive) =>
    function render(this: unknown, ...args: unknown[]): unknown {
      const at = typeof args[1] === 'function' ? 1 : 2;
      const callback = args[at];
      if (!isActive() || typeof callback !== 'function') return original.apply(this, args);
      let engine: unknown;
      try {
        engine = typeof app.get === 'function' ? app.get('view engine') : undefined;
      } catch {
        engine = undefined;
      }
      const sub = beginRender(args[0], engine);
      if (sub === undefined) return original.apply(this, args);
      let closed = false;
      args[at] = function (this: unknown, error: unknown, html?: unknown) {
        if (!closed) {
          closed = true;
          end(sub, error);
        }
        return (callback as Callback).call(this, error, html);
      };
      try {
        return sub.segment.recorder!.runWith(sub, () => original.apply(this, args));
      } catch (error) {
        if (!closed) {
          closed = true;
          end(sub, error);
        }
        throw error;
      }
    } as Method,
  );
}

/** The `Reply` class of a Fastify instance, whose prototype `@fastify/view` decorates with `view`. */
function replyPrototype(instance: object): object | undefined {
  const key = Object.getOwnPropertySymbols(instance).find((s) => s.description === 'fastify.Reply');
  const Reply = key === undefined ? undefined : (instance as Record<symbol, { prototype?: object } | undefined>)[key];
  return Reply?.prototype;
}

/**
 * Fastify with `@fastify/view`: `reply.view()` (what `@Render()` calls) renders and then sends the
 * HTML, or sends the error (it never rejects), so the reply's `send` is watched for the one call
 * that ends the render; `reply.viewAsync()` resolves with the HTML or rejects.
 */
function traceFastifyReply(proto: object, engine: unknown): (() => void)[] {
  const releases: (() => void)[] = [];
  const holder = proto as Record<string, unknown>;
  if (typeof holder.view === 'function') {
    releases.push(
      acquirePatch(proto, 'view', (original, isActive) =>
        function view(this: unknown, ...args: unknown[]): unknown {
          const sub = isActive() ? beginRender(args[0], engine) : undefined;
          if (sub === undefined) return original.apply(this, args);
          const reply = this as Record<string, unknown>;
          const send = reply.send as Method | undefined;
          let closed = false;
          const close = (error: unknown): void => {
            if (closed) return;
            closed = true;
            end(sub, error);
          };
          const ownSend = Object.hasOwn(reply, 'send');
          if (typeof send === 'function' && !ownSend) {
            reply.send = function (this: unknown, payload: unknown, ...rest: unknown[]) {
              delete reply.send;
              close(payload instanceof Error ? payload : undefined);
              return send.call(this, payload, ...rest);
            };
          }
          const restore = (): void => {
            if (!ownSend && Object.hasOwn(reply, 'send')) delete reply.send;
          };
          let result: unknown;
          try {
            result = sub.segment.recorder!.runWith(sub, () => original.apply(this, args));
          } catch (error) {
            restore();
            close(error);
            throw error;
          }
          const then = (result as { then?: unknown } | undefined)?.then;
          if (typeof then === 'function') {
            (then as (ok: () => void, fail: (e: unknown) => void) => unknown).call(
              result,
              () => {
                restore();
                close(undefined);
              },
              (error: unknown) => {
                restore();
                close(error);
              },
            );
          } else {
            restore();
            close(undefined);
          }
          return result;
        } as Method,
      ),
    );
  }
  if (typeof holder.viewAsync === 'function') {
    releases.push(
      acquirePatch(proto, 'viewAsync', (original, isActive) =>
        function viewAsync(this: unknown, ...args: unknown[]): unknown {
          const sub = isActive() ? beginRender(args[0], engine) : undefined;
          if (sub === undefined) return original.apply(this, args);
          let result: unknown;
          try {
            result = sub.segment.recorder!.runWith(sub, () => original.apply(this, args));
          } catch (error) {
            end(sub, error);
            throw error;
          }
          const then = (result as { then?: unknown } | undefined)?.then;
          if (typeof then !== 'function') end(sub, undefined);
          else
            (then as (ok: () => void, fail: (e: unknown) => void) => unknown).call(
              result,
              () => end(sub, undefined),
              (error: unknown) => end(sub, error),
            );
          return result;
        } as Method,
      ),
    );
  }
  return releases;
}

/** The Nest HTTP adapter, as far as template tracing needs it. */
interface HttpAdapterLike {
  getType?(): string;
  getInstance?(): unknown;
}

/**
 * Traces template rendering of one Nest application (`AUTO_INSTRUMENT` `templates`): Express's
 * `app.render` (hbs, ejs, pug and every engine Express supports), and `@fastify/view`'s `reply.view`
 * and `reply.viewAsync` on Fastify. Returns what takes the hooks out again. Fastify decorates its
 * replies while its plugins load: when `@fastify/view` has not loaded yet, the hooks go in on
 * Fastify's `onReady`.
 */
export function traceTemplates(adapter: HttpAdapterLike | undefined, warn: (message: string) => void): () => void {
  const releases: (() => void)[] = [];
  const release = (): void => {
    for (const r of releases.splice(0)) r();
  };
  try {
    const type = adapter?.getType?.();
    const instance = adapter?.getInstance?.() as Record<string, unknown> | undefined;
    if (instance === undefined || instance === null) return release;
    if (type === 'express') {
      if (typeof instance.render === 'function') releases.push(traceExpress(instance as { render?: unknown }));
    } else if (type === 'fastify') {
      const hook = (): void => {
        const proto = replyPrototype(instance);
        if (proto !== undefined) releases.push(...traceFastifyReply(proto, undefined));
      };
      const proto = replyPrototype(instance);
      if (proto !== undefined && typeof (proto as Record<string, unknown>).view === 'function') hook();
      else if (typeof instance.addHook === 'function') {
        try {
          (instance.addHook as (name: string, fn: () => Promise<void>) => void)('onReady', async () => hook());
        } catch {
          // already started: @fastify/view is not there, there is nothing to trace
        }
      }
    }
  } catch (e) {
    warn(`Template rendering is not traced: ${e instanceof Error ? e.message : String(e)}`);
  }
  return release;
}
