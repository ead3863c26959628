import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ShutdownService } from '../common/shutdown.service.js';
import { AuditHealthIndicator } from '../audit/audit.health.js';
import { SinksHealthIndicator } from '../audit/sinks/sinks.health.js';
import { DifyHealthIndicator } from '../dify/dify.health.js';

/** Kubernetes probes: /live is the process alone; /ready needs the audit store and Dify. */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly audit: AuditHealthIndicator,
    private readonly dify: DifyHealthIndicator,
    private readonly shutdown: ShutdownService,
    private readonly indicators: HealthIndicatorService,
    private readonly sinks: SinksHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      // Draining: out of rotation at once, before any dependency is asked.
      () => (this.shutdown.draining ? this.indicators.check('shutdown').down({ draining: true }) : this.indicators.check('shutdown').up()),
      () => this.audit.check(),
      () => this.dify.check(),
      // Details only: a SIEM outage never takes the gateway out of rotation.
      () => this.sinks.check(),
    ]);
  }
}
