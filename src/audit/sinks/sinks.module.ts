import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SinksHealthIndicator } from './sinks.health.js';
import { SinksService } from './sinks.service.js';

/** Audit push to SIEMs: the delivery loops and their /ready details. */
@Module({
  imports: [TerminusModule],
  providers: [SinksService, SinksHealthIndicator],
  exports: [SinksService, SinksHealthIndicator],
})
export class SinksModule {}
