import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { AuditHealthIndicator } from '../audit/audit.health.js';
import { DifyHealthIndicator } from '../dify/dify.health.js';

/** Kubernetes probes: /live is the process alone; /ready needs the audit store and Dify. */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly audit: AuditHealthIndicator,
    private readonly dify: DifyHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.audit.check(), () => this.dify.check()]);
  }
}
