import { ConfigurableModuleBuilder } from '@nestjs/common';

import type { XRayModuleOptions } from './xray-module-options.interface.js';

/** @internal */
export const {
  ConfigurableModuleClass: XRayConfigurableModule,
  MODULE_OPTIONS_TOKEN,
} = new ConfigurableModuleBuilder<XRayModuleOptions>({ moduleName: 'XRay' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createXRayOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** The token of the module's options. */
export const XRAY_MODULE_OPTIONS = MODULE_OPTIONS_TOKEN;
