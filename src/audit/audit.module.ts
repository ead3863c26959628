import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '../auth/auth.module.js';
import { auditConfig, databaseConfig } from '../config/config-namespaces.js';
import { createSequencer, createWriter } from './audit-log.js';
import { AuditSequencer } from './write/audit-sequencer.js';
import { AuditMaintenance } from './write/audit-maintenance.js';
import { AuditQueryService } from './read/audit-query.service.js';
import { AuditReadRepository } from './read/audit-read.repository.js';
import { AuditSigner } from './write/audit-signer.js';
import { AuditVerifyService } from './read/audit-verify.service.js';
import { AuditWriter } from './write/audit-writer.js';
import { AuditController } from './audit.controller.js';
import { AuditHealthIndicator } from './audit.health.js';
import { AuditMetricsWiring } from './audit-metrics.wiring.js';
import { AuditRepository } from './write/audit.repository.js';
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
      inject: [AuditRepository, auditConfig.KEY],
      useFactory: (repository: AuditRepository, cfg: ConfigType<typeof auditConfig>) => createWriter(repository, cfg),
    },
    {
      provide: AuditSequencer,
      inject: [AuditRepository, AuditSigner, auditConfig.KEY, databaseConfig.KEY],
      useFactory: (repository: AuditRepository, signer: AuditSigner, cfg: ConfigType<typeof auditConfig>, db: ConfigType<typeof databaseConfig>) =>
        createSequencer(repository, signer, cfg, db.kind === 'postgres' ? db.url?.reveal() : undefined),
    },
    AuditService,
    AuditVerifyService,
    AuditQueryService,
    AuditMaintenance,
    AuditHealthIndicator,
    AuditMetricsWiring,
    RefusalAuditor,
  ],
  exports: [AuditService, AuditHealthIndicator, RefusalAuditor, AuditWriter],
})
export class AuditModule {}
