import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '../auth/auth.module.js';
import { auditConfig } from '../config/audit.config.js';
import { linkEvents } from './audit-chain.js';
import { AuditMaintenance } from './audit-maintenance.js';
import { AuditQueryService } from './audit-query.service.js';
import { AuditReadRepository } from './audit-read.repository.js';
import { AuditSigner } from './audit-signer.js';
import { AuditVerifyService } from './audit-verify.service.js';
import { AuditWriter } from './audit-writer.js';
import { AuditController } from './audit.controller.js';
import { AuditHealthIndicator } from './audit.health.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';
import { RefusalAuditor } from './refusal-auditor.js';

@Module({
  imports: [AuthModule, TerminusModule],
  controllers: [AuditController],
  providers: [
    AuditRepository,
    AuditReadRepository,
    {
      provide: AuditSigner,
      inject: [auditConfig.KEY],
      useFactory: (cfg: ConfigType<typeof auditConfig>) => new AuditSigner(cfg.signingKeys),
    },
    {
      provide: AuditWriter,
      inject: [AuditRepository, AuditSigner, auditConfig.KEY],
      useFactory: (repository: AuditRepository, signer: AuditSigner, cfg: ConfigType<typeof auditConfig>) =>
        new AuditWriter(repository, (head, bodies, now) => linkEvents(head, bodies, now, signer), {
          maxBatch: cfg.batch.maxSize,
          maxWaitMs: cfg.batch.maxWaitMs,
          timeoutMs: cfg.writeTimeoutMs,
        }),
    },
    AuditService,
    AuditVerifyService,
    AuditQueryService,
    AuditMaintenance,
    AuditHealthIndicator,
    RefusalAuditor,
  ],
  exports: [AuditService, AuditHealthIndicator, RefusalAuditor],
})
export class AuditModule {}
