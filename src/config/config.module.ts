import { Global, Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { CONFIG_NAMESPACES, difyConfig } from './config-namespaces.js';
import { DifyTargets } from './dify-targets.js';

/**
 * Global typed config. The namespaces are built from `gatewayConfig()`, which validates the whole
 * environment the first time Nest instantiates them: an invalid environment makes module
 * creation (`NestFactory.create`, `Test.createTestingModule(...).compile()`) throw
 * `ConfigValidationError` before anything listens.
 *
 * `ignoreEnvFile`: the gateway never reads a `.env` file itself (use the process manager or
 * `node --env-file=.env`). `skipProcessEnv`: `ConfigService.get('SOME_VAR')` does not fall
 * through to raw `process.env`; inject a namespace instead.
 */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      ignoreEnvFile: true,
      skipProcessEnv: true,
      load: CONFIG_NAMESPACES,
    }),
  ],
  // DifyTargets: the live Dify keys (reloaded from their files); global like the config itself.
  providers: [{ provide: DifyTargets, inject: [difyConfig.KEY], useFactory: (cfg: ConfigType<typeof difyConfig>) => new DifyTargets(cfg) }],
  exports: [ConfigModule, DifyTargets],
})
export class GatewayConfigModule {}
