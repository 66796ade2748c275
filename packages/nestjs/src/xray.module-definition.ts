import { ConfigurableModuleBuilder } from '@nestjs/common';

import { XRAY_ROOT } from './xray.internal-constants.js';
import type { XRayModuleOptions } from './xray-module-options.interface.js';

/** @internal */
export const {
  ConfigurableModuleClass: XRayConfigurableModule,
  MODULE_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<XRayModuleOptions>({ moduleName: 'XRay' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createXRayOptions')
  // forRoot()/forRootAsync() also provide XRAY_ROOT, so that an XRayModule imported alone can tell
  // whether the application configured tracing anywhere.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [...(definition.providers ?? []), { provide: XRAY_ROOT, useValue: true }],
    exports: [...(definition.exports ?? []), XRAY_ROOT],
  }))
  .build();

/** The token of the module's options. */
export const XRAY_MODULE_OPTIONS = MODULE_OPTIONS_TOKEN;
