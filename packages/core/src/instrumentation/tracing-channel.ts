import { tracingChannel } from 'node:diagnostics_channel';

import { traceContext, type TraceEntity } from '../context/trace-context.js';
import { describeValue, diag } from '../diag.js';
import type { Subsegment } from '../model/subsegment.js';

/** What an instrumentation does with the events of one `TracingChannel`. @internal */
export interface ChannelHandlers<M extends object> {
  /** Begins the subsegment of an operation, where the library was called; `undefined`: not recorded. */
  begin(message: M): Subsegment | undefined;
  /** Records a failure (the library's `error` event). */
  failed(message: M, sub: Subsegment, error: unknown): void;
  /** Fills in what is known once the operation is over (`asyncStart`), before the subsegment closes. */
  finished?(message: M, sub: Subsegment): void;
}

/** How the events of an operation change the trace context. @internal */
export interface ChannelOptions {
  /**
   * The subsegment is the current entity while the library starts the operation: what the library
   * does inside it (the commands of a pipeline) sees it as the parent and can tell it is part of it.
   */
  current?: boolean;
  /**
   * The callback of a callback-style operation runs in the trace context of the caller, not in the
   * one of whichever request opened the socket the answer came on.
   */
  callerContextForCallbacks?: boolean;
}

interface Call {
  sub: Subsegment | undefined;
  parent: TraceEntity | undefined;
  closed: boolean;
}

/**
 * One `TracingChannel` of a library (`mysql2:query`, `ioredis:command`, ...), turned into
 * subsegments: begun on `start` in the caller's context, failed on `error`, closed on `asyncStart`
 * (the operation's result is in; closing on `end` would close a promise-returning operation before it
 * is over), or on `end` when the operation threw at once. Each event of an operation closes it at most
 * once. A handler that throws is logged once and the operation goes on untouched.
 * @internal
 */
export class ChannelSubscription<M extends object> {
  private readonly calls = new WeakMap<object, Call>();
  private subscribed = false;
  private readonly onStartTransform = (message: object): TraceEntity | undefined => {
    const call = this.begin(message as M);
    return call?.sub ?? traceContext.get();
  };
  private readonly onStart = (message: unknown): void => {
    this.begin(message as M);
  };
  private readonly onError = (message: unknown): void => {
    const call = this.calls.get(message as object);
    if (call?.sub === undefined || call.closed) return;
    this.guard(() => this.handlers.failed(message as M, call.sub!, (message as { error?: unknown }).error));
  };
  private readonly onEnd = (message: unknown): void => {
    // An operation that threw before it began its asynchronous part: no asyncStart follows.
    if (Object.hasOwn(message as object, 'error')) this.close(message as M);
  };
  private readonly onAsyncStart = (message: unknown): void => {
    this.close(message as M);
  };
  private readonly callerContext = (message: object): TraceEntity | undefined => {
    const call = this.calls.get(message);
    return call === undefined ? traceContext.get() : call.parent;
  };

  constructor(
    readonly name: string,
    private readonly handlers: ChannelHandlers<M>,
    private readonly options: ChannelOptions = {},
  ) {}

  /**
   * The channels, looked up once and held: Node 20's registry (not 22's) can lose a name when an older channel
   * of that name is collected, and a second look-up by name could then find another channel than
   * the one subscribed to.
   */
  private channel: ReturnType<typeof tracingChannel> | undefined;

  subscribe(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    const channel = (this.channel ??= tracingChannel(this.name));
    if (this.options.current) channel.start.bindStore(traceContext.storage, this.onStartTransform);
    else channel.start.subscribe(this.onStart);
    if (this.options.callerContextForCallbacks) channel.asyncStart.bindStore(traceContext.storage, this.callerContext);
    channel.error.subscribe(this.onError);
    channel.end.subscribe(this.onEnd);
    channel.asyncStart.subscribe(this.onAsyncStart);
  }

  unsubscribe(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    const channel = (this.channel ??= tracingChannel(this.name));
    if (this.options.current) channel.start.unbindStore(traceContext.storage);
    else channel.start.unsubscribe(this.onStart);
    if (this.options.callerContextForCallbacks) channel.asyncStart.unbindStore(traceContext.storage);
    channel.error.unsubscribe(this.onError);
    channel.end.unsubscribe(this.onEnd);
    channel.asyncStart.unsubscribe(this.onAsyncStart);
  }

  private begin(message: M): Call | undefined {
    const parent = traceContext.get();
    let sub: Subsegment | undefined;
    if (parent !== undefined) {
      try {
        sub = this.handlers.begin(message);
      } catch (e) {
        this.report(e);
      }
    }
    if (sub === undefined && !this.options.callerContextForCallbacks) return undefined;
    const call: Call = { sub, parent, closed: false };
    this.calls.set(message, call);
    return call;
  }

  private close(message: M): void {
    const call = this.calls.get(message);
    if (call === undefined || call.closed) return;
    call.closed = true;
    const sub = call.sub;
    if (sub === undefined) return;
    if (this.handlers.finished !== undefined) this.guard(() => this.handlers.finished!(message, sub));
    sub.close();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    diag.warn('channel_handler_failed', `An event of ${this.name} could not be recorded: ${describeValue(e)}`, this.name);
  }
}
