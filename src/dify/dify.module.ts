import { Module } from '@nestjs/common';
import { HttpModule } from '@nestjs/axios';
import { TerminusModule } from '@nestjs/terminus';
import type { ConfigType } from '@nestjs/config';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { difyConfig } from '../config/config-namespaces.js';
import { LimitsModule } from '../limits/limits.module.js';
import { createDifyAgents } from './connect-timeout.agent.js';
import { DifyClient } from './dify.client.js';
import { DifyKeyReloadAuditor } from './dify-key-reload.auditor.js';
import { DifyHealthIndicator } from './dify.health.js';
import { DifyResilience } from './dify.resilience.js';
import { IdempotencyService } from './idempotency.service.js';

@Module({
  imports: [
    // Keep-alive pools to Dify with a connect timeout; TLS certificates are always verified.
    HttpModule.registerAsync({
      inject: [difyConfig.KEY],
      useFactory: (cfg: ConfigType<typeof difyConfig>) => createDifyAgents(cfg.timeouts.connectMs, cfg.maxSockets),
    }),
    TerminusModule,
    AuthModule,
    AuditModule,
    LimitsModule,
  ],
  providers: [DifyClient, DifyHealthIndicator, DifyResilience, IdempotencyService, DifyKeyReloadAuditor],
  exports: [DifyClient, DifyHealthIndicator, IdempotencyService],
})
export class DifyModule {}
