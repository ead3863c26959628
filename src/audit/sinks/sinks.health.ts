import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { SinksService } from './sinks.service.js';

/**
 * The sinks on /ready: always up (a SIEM being down must not take the gateway out of rotation:
 * events wait in the log and are delivered later), with each sink's lag and failures as details.
 */
@Injectable()
export class SinksHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly sinks: SinksService,
  ) {}

  check(key = 'audit_sinks') {
    const details: Record<string, object> = {};
    for (const s of this.sinks.statuses()) {
      details[s.name] = {
        type: s.type,
        delivering: s.delivering,
        delivered_seq: s.deliveredSeq,
        lag_events: s.lagEvents,
        lag_seconds: Math.round(s.lagSeconds * 1000) / 1000,
        consecutive_failures: s.consecutiveFailures,
        last_error: s.lastError,
        last_delivered_at: s.lastDeliveredAt,
      };
    }
    return this.health.check(key).up(details);
  }
}
