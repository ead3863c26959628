import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditModule } from '../audit/audit.module.js';
import { DifyModule } from '../dify/dify.module.js';
import { SinksModule } from '../audit/sinks/sinks.module.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule, AuditModule, DifyModule, SinksModule],
  controllers: [HealthController],
})
export class HealthModule {}
