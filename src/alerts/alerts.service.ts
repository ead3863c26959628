import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { randomUUID } from 'node:crypto';
import { AuditHealthIndicator } from '../audit/audit.health.js';
import { AuditService } from '../audit/audit.service.js';
import { postSigned } from '../audit/sinks/signed-post.js';
import { SinksService } from '../audit/sinks/sinks.service.js';
import { ApiKeyService } from '../auth/api-key.service.js';
import { GatewaySignals, type GatewaySignal } from '../common/gateway-signals.js';
import { sinksConfig } from '../config/config-namespaces.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { budgetAlerts, type Alert } from './alert.js';
import { AlertMetrics } from './alert-metrics.js';
import { AlertOccurrenceRepository } from './alert-occurrence.repository.js';

const DAY_MS = 86_400_000;
/** The audit store is polled more often than the other periodic checks: its outage is the most urgent. */
const STORE_POLL_MAX_MS = 5_000;

/**
 * Alerts: listens to the features' signals (budgets, breakers, verification) and polls what has
 * no event (audit store health, key expiry, sink lag); each occurrence is claimed once across
 * replicas, counted, recorded in the audit log (`alert.raised`) and POSTed, signed, to the
 * alert webhook with a few retries.
 */
@Injectable()
export class AlertsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AlertsService.name);
  private readonly metrics: AlertMetrics;
  private readonly send = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }) });
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe?: () => void;
  private storeDownSince: Date | null = null;
  private pending = new Set<Promise<unknown>>();
  /** Occurrences this replica already claimed: a key over its budget must not cost a database write per call. */
  private readonly claimed = new Set<string>();

  constructor(
    @Inject(sinksConfig.KEY) private readonly cfg: ConfigType<typeof sinksConfig>,
    private readonly signals: GatewaySignals,
    private readonly occurrences: AlertOccurrenceRepository,
    private readonly audit: AuditService,
    private readonly auditHealth: AuditHealthIndicator,
    private readonly keys: ApiKeyService,
    private readonly sinks: SinksService,
    metrics: MetricsService,
  ) {
    this.metrics = new AlertMetrics(metrics);
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.signals.on((signal) => this.track(this.onSignal(signal)));
    const every = (ms: number, check: () => Promise<void>) => {
      const timer = setInterval(() => this.track(check()), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(Math.min(this.cfg.alerts.checkIntervalMs, STORE_POLL_MAX_MS), () => this.checkAuditStore());
    every(this.cfg.alerts.checkIntervalMs, () => this.checkKeys());
    every(this.cfg.alerts.checkIntervalMs, () => this.checkSinks());
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled([...this.pending]);
  }

  /** Claims, counts, audits and sends one occurrence. Resolves false when another replica (or an earlier round) had it. */
  async raise(key: string, alert: Alert, claim?: () => Promise<boolean>): Promise<boolean> {
    if (!claim) {
      if (this.claimed.has(key)) return false;
      if (this.claimed.size > 10_000) this.claimed.clear();
      this.claimed.add(key);
    }
    if (!(await (claim ?? (() => this.occurrences.claimOnce(key, alert.kind)))())) return false;
    const id = randomUUID();
    const about = { kind: alert.kind, severity: alert.severity, subject: alert.subject, message: alert.message };
    const occurredAt = new Date().toISOString();
    await this.audit
      .recordSystem({ type: 'alert.raised', outcome: null, details: { alert_id: id, ...about, ...alert.details } })
      .catch((err: Error) => this.logger.warn(`alert ${alert.kind} not audited: ${err.name}`));
    const { url, hmacKey } = this.cfg.alerts;
    if (!url || !hmacKey) {
      this.metrics.raised(alert.kind, 'not_configured');
      return true;
    }
    const body = JSON.stringify({ id, ...about, occurred_at: occurredAt, details: alert.details });
    try {
      await this.send.execute(() => postSigned({ url, hmacKey: hmacKey.reveal(), body, contentType: 'application/json', timeoutMs: 5_000 }));
      this.metrics.raised(alert.kind, 'sent');
    } catch (err) {
      this.metrics.raised(alert.kind, 'failed');
      this.logger.warn(`alert ${alert.kind} not delivered: ${(err as Error).message}`);
    }
    return true;
  }

  private async onSignal(signal: GatewaySignal): Promise<void> {
    if (signal.kind === 'budget.used') {
      for (const { key, alert } of budgetAlerts(signal)) await this.raise(key, alert);
    } else if (signal.kind === 'breaker.state' && signal.state !== 'half_open') {
      const open = signal.state === 'open';
      await this.raise(
        `breaker:${signal.app}`,
        {
          kind: open ? 'breaker.open' : 'breaker.closed',
          severity: open ? 'critical' : 'info',
          subject: signal.app,
          message: `the circuit breaker of Dify app ${signal.app} ${open ? 'opened' : 'closed'}`,
          details: { app: signal.app },
        },
        () => this.occurrences.transition(`breaker:${signal.app}`, signal.state, 'closed', String(Date.now())),
      );
    } else if (signal.kind === 'audit.verify_failed') {
      await this.raise(`verify:${signal.problem}:${signal.seq ?? 'none'}`, {
        kind: 'audit.verify_failed',
        severity: 'critical',
        subject: 'audit_log',
        message: `audit log verification failed (${signal.problem}${signal.seq !== null ? ` at seq ${signal.seq}` : ''})`,
        details: { problem: signal.problem, seq: signal.seq },
      });
    }
  }

  private async checkAuditStore(): Promise<void> {
    const result = await this.auditHealth.check();
    const down = result.audit_store?.status !== 'up';
    if (down === (this.storeDownSince !== null)) return;
    this.storeDownSince = down ? new Date() : null;
    await this.raise(
      'audit_store',
      {
        kind: down ? 'audit_store.down' : 'audit_store.up',
        severity: down ? 'critical' : 'info',
        subject: 'audit_store',
        message: down ? 'the audit store is unavailable: calls are refused with 503' : 'the audit store is available again',
        details: {},
      },
      () => this.occurrences.transition('audit_store', down ? 'down' : 'up', 'up', String(Math.floor(Date.now() / 60_000))),
    );
  }

  private async checkKeys(): Promise<void> {
    const now = Date.now();
    const horizon = now + this.cfg.alerts.keyExpiryDays * DAY_MS;
    for (const key of await this.keys.list()) {
      const expires = key.expiresAt?.getTime();
      if (key.revokedAt || expires === undefined || expires <= now || expires > horizon) continue;
      await this.raise(`key.expiring:${key.id}:${key.expiresAt!.toISOString()}`, {
        kind: 'key.expiring',
        severity: 'warning',
        subject: key.id,
        message: `key ${key.name} expires within ${this.cfg.alerts.keyExpiryDays} days`,
        details: { key_id: key.id, key_name: key.name, expires_at: key.expiresAt!.toISOString() },
      });
    }
  }

  private async checkSinks(): Promise<void> {
    for (const s of this.sinks.statuses()) {
      const lagging = s.lagEvents >= this.cfg.alerts.sinkLagEvents;
      await this.raise(
        `sink:${s.name}`,
        {
          kind: lagging ? 'sink.lagging' : 'sink.caught_up',
          severity: lagging ? 'warning' : 'info',
          subject: s.name,
          message: lagging ? `audit sink ${s.name} is ${s.lagEvents} events behind` : `audit sink ${s.name} caught up`,
          details: { sink: s.name, lag_events: s.lagEvents, lag_seconds: Math.round(s.lagSeconds) },
        },
        () => this.occurrences.transition(`sink:${s.name}`, lagging ? 'lagging' : 'ok', 'ok', String(Date.now())),
      );
    }
  }

  /** Runs a check in the background; a failure is logged, never thrown at the emitter. */
  private track(work: Promise<unknown>): void {
    const p = work.catch((err: Error) => this.logger.warn(`alert check failed: ${err.name}: ${err.message}`)).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }
}
