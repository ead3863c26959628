import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { DifyModule } from '../dify/dify.module.js';
import { IsolationModule } from '../isolation/isolation.module.js';
import { LimitsModule } from '../limits/limits.module.js';
import { TracingModule } from '../tracing/tracing.module.js';
import { CallController } from './call.controller.js';
import { CallPipeline } from './call.pipeline.js';

/**
 * The /v1 call pipeline: the top of the /v1 surface. It uses the folders below it (auth decides,
 * limits count, isolation namespaces and checks owners, audit records, dify sends) and none of
 * them imports it.
 */
@Module({
  imports: [AuthModule, AuditModule, DifyModule, IsolationModule, LimitsModule, TracingModule],
  controllers: [CallController],
  providers: [CallPipeline],
})
export class CallModule {}
