import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { TestingModuleBuilder } from '@nestjs/testing';

import { XRAY_OPTIONS_OVERRIDE } from '../xray.constants.js';
import type { XRayModuleOptions } from '../xray-module-options.interface.js';
import { XRayModule } from '../xray.module.js';
import { XRayCapture } from './xray-capture.js';

/** What a test sets so that every request is traced into the capture, quietly. */
function testOptions(capture: XRayCapture): Partial<XRayModuleOptions> {
  return { EMITTER: capture, SAMPLING: false, LOGGER: false };
}

/**
 * Makes an application under test send its documents to `capture` (returned), with every request
 * sampled and the library's log off, keeping the rest of its `XRayModule.forRoot()` options.
 *
 * @example
 * const capture = new XRayCapture();
 * const moduleRef = await captureXRay(Test.createTestingModule({ imports: [AppModule] }), capture).compile();
 */
export function captureXRay(builder: TestingModuleBuilder, capture: XRayCapture = new XRayCapture()): TestingModuleBuilder {
  return builder.overrideProvider(XRAY_OPTIONS_OVERRIDE).useValue(testOptions(capture));
}

@Global()
@Module({})
class XRayCaptureHolder {}

/**
 * `XRayModule.forRoot()` for tests of a few providers and controllers: every request sampled into an
 * `XRayCapture` that is injectable in the test (`moduleRef.get(XRayCapture)`), the log off.
 *
 * @example Test.createTestingModule({ imports: [XRayTestingModule.forRoot()], controllers: [OrdersController] })
 */
export class XRayTestingModule {
  static forRoot(options: XRayModuleOptions = {}): DynamicModule {
    const capture = new XRayCapture();
    return {
      module: XRayCaptureHolder,
      global: true,
      imports: [XRayModule.forRoot({ AWS_XRAY_TRACING_NAME: 'test', ...options, ...testOptions(capture) })],
      providers: [{ provide: XRayCapture, useValue: capture }],
      exports: [XRayCapture, XRayModule],
    };
  }
}
