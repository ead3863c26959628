import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '../auth/auth.module.js';
import { AuditController } from './audit.controller.js';
import { AuditHealthIndicator } from './audit.health.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

@Module({
  imports: [AuthModule, TerminusModule],
  controllers: [AuditController],
  providers: [AuditRepository, AuditService, AuditHealthIndicator],
  exports: [AuditService, AuditHealthIndicator],
})
export class AuditModule {}
