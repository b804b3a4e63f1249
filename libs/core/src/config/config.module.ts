import { Global, Inject, Module } from '@nestjs/common';
import { loadConfig, type NinefoldConfig } from './env.schema.js';

/** Injection token of the validated {@link NinefoldConfig}. */
export const CONFIG = Symbol('NINEFOLD_CONFIG');

/** Injects the validated configuration: `constructor(@InjectConfig() config: NinefoldConfig)`. */
export const InjectConfig = () => Inject(CONFIG);

let cached: NinefoldConfig | undefined;

/** The process's configuration, validated once. The only reader of `process.env`. */
export function config(): NinefoldConfig {
  cached ??= loadConfig(process.env);
  return cached;
}

@Global()
@Module({
  providers: [{ provide: CONFIG, useFactory: config }],
  exports: [CONFIG],
})
export class ConfigModule {}
