import { DynamicModule, Inject, Module } from '@nestjs/common';
import type { KeyholdConfig } from './config';

/** The injection token of the validated configuration (an interface, so it needs a token of its own). */
export const KEYHOLD_CONFIG = 'keyhold:config';

/** Constructor parameter decorator: `@InjectConfig() config: KeyholdConfig`. */
export const InjectConfig = (): ParameterDecorator => Inject(KEYHOLD_CONFIG);

/**
 * The validated configuration, read once by the process entry (loadConfig) and provided to every module. Global:
 * each root (the API, the worker) imports it once with its own configuration.
 */
@Module({})
export class ConfigModule {
  static forRoot(config: KeyholdConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: KEYHOLD_CONFIG, useValue: config }],
      exports: [KEYHOLD_CONFIG],
    };
  }
}
