import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { PrismaService } from '../database/prisma.service.js';

/** No audit store, no service: /ready fails when the database does not answer quickly. */
@Injectable()
export class AuditHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly prisma: PrismaService,
  ) {}

  async check(key = 'audit_store', timeoutMs = 1000) {
    const indicator = this.health.check(key);
    try {
      await this.prisma.ping(timeoutMs);
      return indicator.up();
    } catch (error) {
      return indicator.down({ reason: (error as Error).name });
    }
  }
}
