import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { redact, redactText } from '../common/redact.js';
import { auditConfig } from '../config/config-namespaces.js';
import type { AdminEventType, Details, EventDraft, EventType, Outcome, RecordedEvent } from './audit-event.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';
import { AuditWriter } from './write/audit-writer.js';

/** One /v1 call as the proxy sees it. Text is raw here; it is masked (or dropped) before it is stored. */
export interface CallAuditEntry {
  callId: string;
  requestId: string;
  startedAt: Date;
  callerKeyId: string | null;
  callerName: string | null;
  appAlias: string | null;
  method: string;
  route: string;
  /** The caller's end user (`user` in the body, form or query). */
  endUser: string | null;
  status: number;
  upstreamStatus: number | null;
  outcome: Outcome;
  errorCode: string | null;
  latencyMs: number;
  attempts: number;
  conversationId: string | null;
  messageId: string | null;
  taskId: string | null;
  workflowRunId: string | null;
  totalTokens: number | null;
  totalPrice: string | null;
  currency: string | null;
  promptText: string | null;
  answerText: string | null;
}

/**
 * An administrative action: a key created, changed, rotated or revoked (by the admin API or the
 * CLI), or a Dify key reloaded from its file. Never a secret.
 */
export interface AdminAuditEntry {
  /** The request id of the admin call, or an id made up by the CLI or the reload. */
  requestId: string;
  /** `keys.create`, `keys.update`, `keys.rotate`, `keys.revoke`, `dify.key_changed`, ... */
  action: string;
  /** The key that acted (admin API); null for the CLI and the gateway itself. */
  actorKeyId: string | null;
  /** The acting key's name, `cli` or `gateway`. */
  actorName: string;
  /** What was acted on: a key id, an app alias. */
  target: string | null;
  status: number;
  outcome: 'success' | 'rejected' | 'client_error';
  errorCode?: string | null;
  appAlias?: string | null;
  /** What the action grants or was refused (scopes, apps, datasets, namespace, reason). Never a secret. */
  details?: Details;
}

/** The event type of an admin action: the ones the issue names, `admin.action` for the rest. */
export function adminEventType(action: string): AdminEventType {
  if (action === 'keys.create') return 'key.created';
  if (action === 'keys.update') return 'key.updated';
  if (action === 'keys.rotate') return 'key.rotated';
  if (action === 'keys.revoke') return 'key.revoked';
  if (action.startsWith('dify.') || action.startsWith('config.')) return 'config.reloaded';
  return 'admin.action';
}

/** A request to /admin or /audit that the gateway refused (4xx). */
export interface RefusedAccessEntry {
  requestId: string;
  /** The key that tried, when it was authenticated. */
  callerKeyId: string | null;
  callerName: string | null;
  method: string;
  /** The path, without the query. */
  route: string;
  status: number;
  errorCode: string;
  reason: string;
  source: string;
}

/** Who did something that is not a /v1 call: a key (admin API, auditor) or an operator at the CLI. */
export interface AuditActor {
  keyId: string | null;
  name: string | null;
  requestId?: string | null;
}

/**
 * Writes the audit log: calls (write-ahead), admin actions, the auditors' own reads. Everything
 * goes through the group-committing `AuditWriter`; what must be recorded before something
 * happens is awaited and fails closed with `GatewayErrors.auditUnavailable()` (503). Awaited means durably
 * recorded (in the inbox); the sequencer seals it into the chain shortly after.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);
  /** This gateway process: its calls, its lifecycle, its advisory lock. */
  readonly instanceId = randomUUID();
  /** Calls whose `call.started` is committed and whose outcome is not queued yet. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly writer: AuditWriter,
    @Inject(auditConfig.KEY) private readonly cfg: Pick<ConfigType<typeof auditConfig>, 'storeText'>,
  ) {}

  /** Whether prompt and answer text are stored (masked). */
  get storesText(): boolean {
    return this.cfg.storeText;
  }

  /** Calls started (recorded) and not finished yet, in this process. */
  get callsInFlight(): number {
    return this.inFlight.size;
  }

  /**
   * Commits `call.started` before the request may go to Dify. Throws `GatewayErrors.auditUnavailable()`
   * when it cannot be written: the call must then not be sent.
   */
  async callStarted(call: CallAuditEntry): Promise<void> {
    try {
      await this.writer.append({
        id: randomUUID(),
        type: 'call.started',
        ...this.callIdentity(call),
        conversationId: masked(call.conversationId),
        promptText: this.text(call.promptText),
        details: { started_at: call.startedAt.toISOString() },
      });
      this.inFlight.add(call.callId);
    } catch (error) {
      // The writer logs the outage once; the call itself is logged by the proxy with its 503.
      this.logger.debug(`audit write failed before request ${call.requestId}: ${(error as Error).message}`);
      throw GatewayErrors.auditUnavailable();
    }
  }

  /**
   * Queues `call.finished` with the outcome. Nobody waits for it (the answer is already on its way);
   * it is kept and retried while the store is down, and if the process dies first, recovery
   * closes the call as "outcome unknown".
   */
  callFinished(call: CallAuditEntry): void {
    this.inFlight.delete(call.callId);
    this.writer.appendDurable({
      id: randomUUID(),
      type: 'call.finished',
      ...this.callIdentity(call),
      status: call.status,
      upstreamStatus: call.upstreamStatus,
      outcome: call.outcome,
      errorCode: call.errorCode,
      latencyMs: call.latencyMs,
      attempts: call.attempts,
      conversationId: masked(call.conversationId),
      messageId: call.messageId,
      taskId: call.taskId,
      workflowRunId: call.workflowRunId,
      totalTokens: call.totalTokens,
      totalPrice: call.totalPrice,
      currency: call.currency,
      answerText: this.text(call.answerText),
      details: { started_at: call.startedAt.toISOString() },
    });
  }

  /**
   * Records an admin action (a key created, changed, rotated or revoked; the config reloaded).
   * Awaited: throws `GatewayErrors.auditUnavailable()` when it cannot be recorded, so the caller can undo
   * or refuse.
   */
  async recordAdminAction(entry: AdminAuditEntry): Promise<RecordedEvent> {
    const draft: Omit<EventDraft, 'id'> = {
      type: adminEventType(entry.action),
      instanceId: this.instanceId,
      requestId: entry.requestId,
      callerKeyId: entry.actorKeyId,
      callerName: entry.actorName,
      appAlias: entry.appAlias ?? null,
      status: entry.status,
      outcome: entry.outcome,
      errorCode: entry.errorCode ?? null,
      details: redact({ ...entry.details, action: entry.action, target: entry.target }) as Details,
    };
    return this.append(draft);
  }

  /**
   * Records an auditor's read (`audit.query`, `audit.export.*`) before its result is disclosed.
   * Throws `GatewayErrors.auditUnavailable()`: no unrecorded reads.
   */
  /**
   * Writes what this process has queued (call outcomes wait up to 10 ms to ride with the next
   * write-ahead), so that a query sees every event this replica recorded before it.
   */
  writeQueued(): Promise<void> {
    return this.writer.flushNow();
  }

  recordAccess(type: Extract<EventType, `audit.${string}`>, actor: AuditActor, details: Details): Promise<RecordedEvent> {
    return this.append(
      // An auditor's filters are the auditor's input: masked like everything else the gateway writes.
      { type, instanceId: this.instanceId, requestId: actor.requestId ?? null, callerKeyId: actor.keyId, callerName: actor.name, details: redact(details) },
    );
  }

  /** Like `recordAccess`, for what happens after the disclosure (an export's end): not awaited, kept while the store is down. */
  recordAccessLater(type: Extract<EventType, `audit.${string}`>, actor: AuditActor, details: Details): void {
    this.writer.appendDurable({
      id: randomUUID(),
      type,
      instanceId: this.instanceId,
      requestId: actor.requestId ?? null,
      callerKeyId: actor.keyId,
      callerName: actor.name,
      details: redact(details),
    });
  }

  /** A refused /admin or /audit request: not awaited (it was refused either way), kept while the store is down. */
  recordRefusedAccess(entry: RefusedAccessEntry): void {
    this.writer.appendDurable({
      id: randomUUID(),
      type: 'access.refused',
      instanceId: this.instanceId,
      requestId: entry.requestId,
      callerKeyId: entry.callerKeyId,
      callerName: entry.callerName,
      method: entry.method,
      route: masked(entry.route),
      status: entry.status,
      outcome: 'rejected',
      errorCode: entry.errorCode,
      details: redact({ reason: entry.reason, source: entry.source }) as Details,
    });
  }

  /** The periodic count of refused requests without a key (`auth.refused`), per source address and reason. */
  recordRefusalSummary(details: Details): void {
    this.writer.appendDurable({ id: randomUUID(), type: 'auth.refused', instanceId: this.instanceId, outcome: 'rejected', details });
  }

  /** The gateway's own lifecycle and maintenance events (not for callers). */
  recordSystem(draft: Omit<EventDraft, 'id'>): Promise<RecordedEvent> {
    return this.writer.append({ id: randomUUID(), instanceId: this.instanceId, ...draft });
  }

  private async append(draft: Omit<EventDraft, 'id'>): Promise<RecordedEvent> {
    try {
      return await this.writer.append({ id: randomUUID(), ...draft });
    } catch (error) {
      this.logger.error(`audit write failed for ${draft.type}: ${(error as Error).message}`);
      throw GatewayErrors.auditUnavailable();
    }
  }

  private callIdentity(call: CallAuditEntry): Omit<EventDraft, 'id' | 'type'> {
    return {
      instanceId: this.instanceId,
      callId: call.callId,
      requestId: call.requestId,
      callerKeyId: call.callerKeyId,
      callerName: call.callerName,
      appAlias: call.appAlias,
      method: call.method,
      route: call.route,
      // Caller-supplied labels are masked like every line the gateway writes: a key or an e-mail
      // address sent as `user` is stored as *** (README, Audit trail: use opaque end-user ids).
      endUser: masked(call.endUser),
    };
  }

  /** Prompt and answer text: only with AUDIT_STORE_TEXT, and masked like every log line. */
  private text(value: string | null): string | null {
    return this.cfg.storeText && value ? redactText(value) : null;
  }
}

function masked(value: string | null): string | null {
  return value === null ? null : redactText(value);
}
