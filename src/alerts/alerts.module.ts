import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SinksModule } from '../audit/sinks/sinks.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { AlertOccurrenceRepository } from './alert-occurrence.repository.js';
import { AlertsService } from './alerts.service.js';

/** Alert webhooks (see `AlertsService`). */
@Module({
  imports: [AuditModule, AuthModule, SinksModule],
  providers: [AlertOccurrenceRepository, AlertsService],
  exports: [AlertsService],
})
export class AlertsModule {}
