import 'reflect-metadata';

import { Injectable, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { describe, expect, it, jest } from '@jest/globals';

import { Subsegment } from '../src/decorators/subsegment.decorator.js';
import { XRayModule } from '../src/xray.module.js';

// This file runs in a context of its own (Jest gives each test file one): no recorder is configured.

@Injectable()
class Work {
  @Subsegment()
  run(n: number): number {
    return n * 2;
  }
}

function collectingLogger(): LoggerService & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, log: () => {}, error: () => {}, warn: (m: unknown) => void warnings.push(String(m)), debug: () => {}, verbose: () => {} };
}

describe('forgetting forRoot()', () => {
  it('says so once when XRayModule is imported without forRoot() anywhere in the application', async () => {
    const logger = collectingLogger();
    @Module({ imports: [XRayModule], providers: [Work] })
    class App {}
    const app = await NestFactory.createApplicationContext(App, { logger });
    await app.close();
    expect(logger.warnings).toEqual([expect.stringContaining('XRayModule is imported, but XRayModule.forRoot() is not: nothing is traced. Import XRayModule.forRoot(')]);
  });

  it('does not complain about a library that imports XRayModule when the application has forRoot()', async () => {
    const logger = collectingLogger();
    @Module({ imports: [XRayModule], providers: [Work], exports: [Work] })
    class Library {}
    @Module({ imports: [Library, XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'app', EMITTER: { send() {}, flush: async () => {}, shutdown: async () => {} } })] })
    class App {}
    const app = await NestFactory.createApplicationContext(App, { logger });
    await app.close();
    expect(logger.warnings.filter((w) => w.includes('forRoot'))).toEqual([]);
  });

  it('says once that nothing is traced when a decorated method runs with no recorder configured', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const work = new Work();
      expect(work.run(1)).toBe(2);
      expect(work.run(2)).toBe(4);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/no recorder is configured, so nothing is traced: import XRayModule\.forRoot\(\{ AWS_XRAY_TRACING_NAME: 'my-service' \}\)/);
    } finally {
      warn.mockRestore();
    }
  });
});
