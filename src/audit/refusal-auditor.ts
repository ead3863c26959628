import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import type { Caller } from '../auth/caller.js';
import { isAudited, type GatewayError } from '../common/gateway-error.js';
import { RefusalListeners } from '../common/refusal-listeners.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import { AuditService } from './audit.service.js';
import { RefusalBudget, type RefusalSummary } from './refusal-budget.js';

/** How often the count of refusals without a key is written (and once more at shutdown). */
export const REFUSAL_SUMMARY_EVERY_MS = 60_000;
/** How long a refusal beyond its source's budget waits before it is answered (a tarpit: timers cost nothing). */
export const OVER_BUDGET_DELAY_MS = 1_000;
/** Answers held back at most at once; beyond it they go out at once (memory stays bounded). */
const MAX_HELD_BACK = 10_000;

const AUDITED_SURFACES = /^\/(admin|audit)(\/|\?|$)/;

/**
 * Refused requests in the audit log, without letting an unauthenticated caller choose how many
 * rows are written:
 * - every refusal on /admin and /audit (wrong scope, unknown field, another key, bad query) is an
 *   `access.refused` event with the key that tried, the route, the status and the reason;
 * - refusals without a key (there, and on /v1 through `admitUnauthenticated`) get their own event
 *   only within a per-source budget; all are counted in an `auth.refused` event every minute.
 */
@Injectable()
export class RefusalAuditor implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RefusalAuditor.name);
  private readonly budget = new RefusalBudget();
  private timer?: NodeJS.Timeout;
  private stopListening?: () => void;
  private heldBack = 0;

  constructor(
    private readonly audit: AuditService,
    private readonly listeners: RefusalListeners,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.listeners.listen((req, error) => this.refused(req, error));
    this.timer = setInterval(() => this.flush(), REFUSAL_SUMMARY_EVERY_MS);
    this.timer.unref();
  }

  /** Synchronous, so the summary is queued before the audit writer closes. */
  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.stopListening?.();
    this.flush();
  }

  /** Counts a refusal without a key; true when it may also be written as its own event. */
  admitUnauthenticated(req: Request, reason: string): boolean {
    return this.budget.admit(sourceOf(req), reason);
  }

  /**
   * Like `admitUnauthenticated`; a refusal beyond the budget also waits `OVER_BUDGET_DELAY_MS`
   * before it is answered: a client that keeps a connection busy with wrong keys gets one
   * answer a second on it, and the event loop stays free for callers with a valid key.
   */
  async refuseUnauthenticated(req: Request, reason: string): Promise<boolean> {
    if (this.admitUnauthenticated(req, reason)) return true;
    if (this.heldBack < MAX_HELD_BACK) {
      this.heldBack++;
      await new Promise((resolve) => setTimeout(resolve, OVER_BUDGET_DELAY_MS).unref());
      this.heldBack--;
    }
    return false;
  }

  /** Writes the counts since the last summary (if anything was refused). */
  flush(): void {
    const summary = this.budget.take();
    if (!summary) return;
    try {
      this.audit.recordRefusalSummary(summaryDetails(summary));
    } catch (error) {
      this.logger.error(`could not queue auth.refused: ${(error as Error).name}`);
    }
  }

  private refused(req: Request & { caller?: Caller }, error: GatewayError): void {
    const route = (req.originalUrl ?? req.url).split('?')[0];
    if (!AUDITED_SURFACES.test(route) || isAudited(error)) return;
    const caller = req.caller;
    const reason = error.reason ?? error.code;
    if (!caller && !this.admitUnauthenticated(req, reason)) return;
    this.audit.recordRefusedAccess({
      requestId: requestIdOf(req),
      callerKeyId: caller?.keyId ?? null,
      callerName: caller?.name ?? null,
      method: req.method,
      route: route.slice(0, 200),
      status: error.status,
      errorCode: error.code,
      reason: `${reason}: ${error.message}`.slice(0, 500),
      source: sourceOf(req),
    });
  }
}

/** The caller's address as Express sees it (`TRUST_PROXY` decides whether X-Forwarded-For counts). */
export function sourceOf(req: Request): string {
  return (req.ip ?? req.socket?.remoteAddress ?? 'unknown').slice(0, 64);
}

function summaryDetails(s: RefusalSummary) {
  return {
    since: s.since.toISOString(),
    until: s.until.toISOString(),
    total: s.total,
    suppressed: s.suppressed,
    other: s.other,
    counts: s.counts.map((c) => ({ source: c.source, reason: c.reason, count: c.count })),
  };
}
