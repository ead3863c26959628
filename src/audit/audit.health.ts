import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { PrismaService } from '../database/prisma.service.js';
import { AuditWriter } from './write/audit-writer.js';

/**
 * No audit, no service: /ready fails when the database does not answer quickly, or when the
 * audit log cannot be written (the writer failed and its probe has not succeeded since). It
 * comes back by itself once a write probe succeeds.
 */
@Injectable()
export class AuditHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly writer: AuditWriter,
  ) {}

  async check(key = 'audit_store', timeoutMs = 1000) {
    const indicator = this.health.check(key);
    if (!this.writer.healthy) return indicator.down({ reason: 'not_writable', failure: this.writer.lastFailure ?? 'unknown' });
    try {
      await this.prisma.ping(timeoutMs);
      return indicator.up({ backlog: this.writer.backlogSize });
    } catch (error) {
      return indicator.down({ reason: (error as Error).name });
    }
  }
}
