import 'reflect-metadata';

import { Controller, Get, type CanActivate, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { InMemoryEmitter, recorder, SegmentNotFoundError } from '@xrayjs/core';
import { lastValueFrom, Observable, of, throwError, delay, Subject } from 'rxjs';

import { errorFlag } from '../src/http/exception-flag.js';
import { NoSubsegment, Subsegment } from '../src/decorators/subsegment.decorator.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

@Injectable()
class AllowGuard implements CanActivate {
  canActivate() {
    return true;
  }
}

@Controller('things')
class ThingsController {
  readonly label = 'things';

  @Subsegment()
  @Get(':id')
  @UseGuards(AllowGuard)
  @SetMetadata('role', 'admin')
  below(id: string, extra: number) {
    return `${this.label}:${id}:${extra}`;
  }

  @Get('other')
  @UseGuards(AllowGuard)
  @Subsegment('custom.name')
  above() {
    return this.label;
  }

  @Subsegment()
  async fails(error: Error): Promise<never> {
    await Promise.resolve();
    throw error;
  }

  @Subsegment()
  syncFails(error: Error): never {
    throw error;
  }

  @Subsegment()
  stream(source: Observable<number>): Observable<number> {
    return source;
  }

  @Subsegment()
  *rows(): Generator<number> {
    for (let i = 0; i < 2; i++) yield recorder.capture(`row-${i}`, () => i);
  }

  @Subsegment()
  async *pages(): AsyncGenerator<number> {
    for (let i = 0; i < 2; i++) yield await recorder.capture(`page-${i}`, async () => i);
  }

  @Subsegment()
  query(builder: { then: (resolve: (v: string) => void) => void; where: () => unknown }) {
    return builder;
  }
}

@Subsegment()
class Whole {
  a() {
    return this.b();
  }

  b() {
    return 'b';
  }

  @NoSubsegment()
  hidden() {
    return 'hidden';
  }

  @Subsegment('own.name')
  named() {
    return 'named';
  }

  get prop() {
    return 'getter';
  }
}

describe('@Subsegment()', () => {
  let emitter: InMemoryEmitter;

  beforeEach(() => {
    emitter = new InMemoryEmitter();
    recorder.configure({ AWS_XRAY_TRACING_NAME: 'deco', EMITTER: emitter, SAMPLING: false, LOGGER: false });
    recorder.setErrorClassifier(errorFlag);
  });
  afterEach(() => recorder.setErrorClassifier(undefined));

  const inSegment = <T>(fn: () => T): T => recorder.captureSegment('test', fn);
  const subsOf = (i = 0): Doc[] => (emitter.documents[i] as Doc).subsegments ?? [];

  it('should keep every other decorator metadata, in any order', () => {
    const below = ThingsController.prototype.below;
    const above = ThingsController.prototype.above;
    expect(Reflect.getMetadata(PATH_METADATA, below)).toBe(':id');
    expect(Reflect.getMetadata(METHOD_METADATA, below)).toBe(0);
    expect(Reflect.getMetadata(GUARDS_METADATA, below)).toEqual([AllowGuard]);
    expect(Reflect.getMetadata('role', below)).toBe('admin');
    expect(Reflect.getMetadata(PATH_METADATA, above)).toBe('other');
    expect(Reflect.getMetadata(GUARDS_METADATA, above)).toEqual([AllowGuard]);
    expect(below.name).toBe('below');
    expect(below.length).toBe(2);
  });

  it('should keep this and the arguments, and name the subsegment Class.method', () => {
    const ctl = new ThingsController();
    expect(inSegment(() => ctl.below('7', 3))).toBe('things:7:3');
    expect(inSegment(() => ctl.above())).toBe('things');
    expect(subsOf(0).map((s) => s.name)).toEqual(['ThingsController.below']);
    expect(subsOf(1).map((s) => s.name)).toEqual(['custom.name']);
  });

  it('should record errors and rethrow the same object, sync and async', async () => {
    const ctl = new ThingsController();
    const e1 = new Error('sync boom');
    const e2 = new Error('async boom');
    expect(() => inSegment(() => ctl.syncFails(e1))).toThrow(e1);
    await expect(inSegment(() => ctl.fails(e2))).rejects.toBe(e2);
    expect(subsOf(0)[0]).toMatchObject({ fault: true, cause: { exceptions: [{ message: 'sync boom' }] } });
    expect(subsOf(1)[0]).toMatchObject({ fault: true, cause: { exceptions: [{ message: 'async boom' }] } });
  });

  it('should span an Observable from subscription to completion', async () => {
    const ctl = new ThingsController();
    const values = await inSegment(async () => {
      const obs = ctl.stream(of(1, 2, 3).pipe(delay(20)));
      await new Promise((r) => setTimeout(r, 30)); // not subscribed yet: nothing runs, nothing is timed
      const t0 = Date.now() / 1000;
      const out: number[] = [];
      await new Promise<void>((resolve) => obs.subscribe({ next: (v) => out.push(v), complete: resolve }));
      return { out, t0 };
    });
    expect(values.out).toEqual([1, 2, 3]);
    const [sub] = subsOf();
    expect(sub.name).toBe('ThingsController.stream');
    expect(sub.start_time).toBeGreaterThanOrEqual(values.t0 - 0.002);
    expect(sub.end_time - sub.start_time).toBeGreaterThanOrEqual(0.015);
  });

  it('should record an Observable error and mark an unsubscribed one', async () => {
    const ctl = new ThingsController();
    const err = new Error('stream failed');
    await inSegment(async () => {
      await expect(lastValueFrom(ctl.stream(throwError(() => err)))).rejects.toBe(err);
      const subject = new Subject<number>();
      const subscription = ctl.stream(subject).subscribe();
      subject.next(1);
      subscription.unsubscribe();
    });
    const subs = subsOf();
    expect(subs[0]).toMatchObject({ fault: true, cause: { exceptions: [{ message: 'stream failed' }] }, in_progress: false });
    expect(subs[1]).toMatchObject({ in_progress: false, metadata: { xrayjs: { unsubscribed: true } } });
  });

  it('should span the iteration of a decorated generator, sync and async, with the work inside', async () => {
    const ctl = new ThingsController();
    await inSegment(async () => {
      expect([...ctl.rows()]).toEqual([0, 1]);
      const out: number[] = [];
      for await (const page of ctl.pages()) out.push(page);
      expect(out).toEqual([0, 1]);
    });
    const subs = subsOf();
    expect(subs.map((s) => [s.name, s.in_progress, s.subsegments.map((c: Doc) => c.name)])).toEqual([
      ['ThingsController.rows', false, ['row-0', 'row-1']],
      ['ThingsController.pages', false, ['page-0', 'page-1']],
    ]);
  });

  it('should return a thenable query builder as the very object and span it once awaited', async () => {
    const ctl = new ThingsController();
    let ran = 0;
    const builder = {
      where: () => builder,
      then: (resolve: (v: string) => void) => {
        ran++;
        setTimeout(() => resolve('rows'), 2);
      },
    };
    await inSegment(async () => {
      const returned = ctl.query(builder);
      expect(returned).toBe(builder);
      expect(ran).toBe(0);
      expect(await returned).toBe('rows');
    });
    expect(ran).toBe(1);
    expect(subsOf()[0]).toMatchObject({ name: 'ThingsController.query', in_progress: false });
    expect(subsOf()[0].end_time - subsOf()[0].start_time).toBeGreaterThan(0.001);
  });

  it('should wrap every method of a class, except @NoSubsegment(), and let a method name win', () => {
    const w = new Whole();
    inSegment(() => {
      expect(w.a()).toBe('b');
      expect(w.hidden()).toBe('hidden');
      expect(w.named()).toBe('named');
      expect(w.prop).toBe('getter');
    });
    const subs = subsOf();
    expect(subs.map((s) => s.name)).toEqual(['Whole.a', 'own.name']);
    expect(subs[0].subsegments.map((s: Doc) => s.name)).toEqual(['Whole.b']);
  });

  it('should classify HttpExceptions by status', async () => {
    const { NotFoundException, HttpException } = await import('@nestjs/common');
    const ctl = new ThingsController();
    expect(() => inSegment(() => ctl.syncFails(new NotFoundException()))).toThrow(NotFoundException);
    expect(() => inSegment(() => ctl.syncFails(new HttpException('x', 429)))).toThrow(HttpException);
    expect(subsOf(0)[0]).toMatchObject({ error: true });
    expect(subsOf(0)[0]).not.toHaveProperty('fault');
    expect(subsOf(1)[0]).toMatchObject({ error: true, throttle: true });
  });

  it('should run the method without a segment under LOG_ERROR, and throw a clear error under RUNTIME_ERROR', () => {
    const ctl = new ThingsController();
    expect(ctl.below('1', 2)).toBe('things:1:2');
    recorder.configure({ AWS_XRAY_TRACING_NAME: 'deco', EMITTER: emitter, LOGGER: false, AWS_XRAY_CONTEXT_MISSING: 'RUNTIME_ERROR' });
    expect(() => ctl.below('1', 2)).toThrow(SegmentNotFoundError);
    expect(() => ctl.below('1', 2)).toThrow(/captureSegment/);
  });

  it('should refuse to decorate something that is not a method', () => {
    expect(() => {
      class Bad {
        // @ts-expect-error: a property, not a method
        @Subsegment() value = 1;
      }
      return Bad;
    }).toThrow(TypeError);
  });
});
