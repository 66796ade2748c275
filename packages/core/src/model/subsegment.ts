import { describeValue, diag } from '../diag.js';
import { toJsonSafe } from '../json-safe.js';
import { quoteJson, sanitizeName, truncate } from '../names.js';
import { newEntityId } from '../propagation/ids.js';
import type { SqlData } from './document-fields.js';
import { Entity, validTime } from './entity.js';
import { entityHead, namespaceTail, startTimeText } from './json-text.js';
import type { Segment } from './segment.js';

const SQL_KEYS = ['url', 'connection_string', 'sanitized_query', 'database_type', 'database_version', 'driver_version', 'user', 'preparation'] as const;

/** Options of a new subsegment. */
export interface SubsegmentInit {
  /** `remote` for calls to other services and databases, `aws` for AWS calls. @default 'local' */
  namespace?: string;
  /** Start time in epoch seconds. @default now */
  startTime?: number;
}

/**
 * A subsegment: a unit of work inside a segment (a method, a query, an outgoing call). Create them
 * with `recorder.capture()` / `recorder.beginSubsegment()`.
 */
export class Subsegment extends Entity {
  namespace: string | undefined;
  sql: SqlData | undefined = undefined;
  aws: Record<string, unknown> | undefined = undefined;
  /** Set on an outgoing call when the callee is traced. */
  traced: boolean | undefined = undefined;
  /** The entity this subsegment was begun under. */
  readonly parent: Segment | Subsegment;
  private readonly owner: Segment;

  /** @internal use `Recorder.beginSubsegment()` or `Recorder.capture()` */
  constructor(name: string, parent: Segment | Subsegment, init: SubsegmentInit = {}) {
    const owner = parent.segment;
    super(sanitizeName(name, 'subsegment'), newEntityId(), validTime(init.startTime) ?? owner.now());
    this.namespace = init.namespace ?? 'local';
    this.parent = parent;
    this.owner = owner;
    if (owner.processor && owner.isSampled) owner.processor.onStart(this);
    else parent.addChild(this);
  }

  override get segment(): Segment {
    return this.owner;
  }

  /**
   * Takes this open subsegment out of its parent until {@link Subsegment.reattach} (work that starts
   * later than the call, such as an Observable's at subscription). @internal
   */
  detach(): void {
    const owner = this.owner;
    if (owner.processor && owner.isSampled) owner.processor.onDetach(this);
    else this.parent.removeChild(this);
  }

  /** Puts a detached subsegment back under its parent, starting now. @internal */
  reattach(): void {
    const owner = this.owner;
    this.start_time = owner.now();
    if (owner.processor && owner.isSampled) owner.processor.onStart(this);
    else this.parent.addChild(this);
  }

  /** Records the query of a database call: its string fields (the schema's), copied. */
  setSql(sql: SqlData): void {
    if (!this.owner.isSampled) return;
    try {
      const out: SqlData = {};
      for (const key of SQL_KEYS) {
        const value: unknown = sql[key];
        if (typeof value === 'string') (out as Record<string, string>)[key] = key === 'user' ? truncate(value, 250) : value;
      }
      this.sql = out;
    } catch (e) {
      diag.warn('sql_invalid', `sql dropped: ${describeValue(e)}.`);
    }
  }

  /** Sets this subsegment's `aws` block (operation, region, request id, resource names), copied. */
  setAws(aws: Record<string, unknown>): void {
    if (!this.owner.isSampled) return;
    const copy = toJsonSafe(aws);
    if (typeof copy === 'object' && copy !== null && !Array.isArray(copy)) this.aws = copy as Record<string, unknown>;
    else diag.warn('aws_invalid', `aws block dropped: it must be an object, not ${describeValue(aws)}.`);
  }

  override serialize(standalone = false): string {
    return this.write(standalone, false);
  }

  /** The nested form, with a leading comma after the first item of its parent's list. @internal */
  serializeItem(comma: boolean): string {
    return this.write(false, comma);
  }

  private write(standalone: boolean, comma: boolean): string {
    let s = entityHead(this.name, comma) + this.id + startTimeText.write(this.start_time);
    s = this.serializeCommon(s);
    const nothingElse = this.traced === undefined && this.sql === undefined && this.aws === undefined && !standalone;
    // The usual subsegment: the namespace and the closing brace are one cached piece.
    if (nothingElse && (this.subsegments === undefined || this.subsegments.length === 0)) return s + namespaceTail(this.namespace);
    if (this.namespace !== undefined) s += `,"namespace":${quoteJson(this.namespace)}`;
    if (this.traced) s += ',"traced":true';
    if (this.sql !== undefined) s += `,"sql":${JSON.stringify(this.sql)}`;
    if (this.aws !== undefined) s += `,"aws":${JSON.stringify(this.aws)}`;
    if (!standalone) return this.serializeChildren(s, true);
    s = this.serializeChildren(s, false);
    return `${s},"type":"subsegment","trace_id":"${this.owner.trace_id}","parent_id":"${this.parent.id}"}`;
  }

  /** The document of this subsegment sent on its own: with `type`, `trace_id` and `parent_id`. */
  toStandaloneJSON(): Record<string, unknown> {
    return JSON.parse(this.serialize(true)) as Record<string, unknown>;
  }
}
