import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../common/gateway-error.js';
import { isUuid } from '../database/database.errors.js';
import { AuditRepository, type AuditRecordInput, type AuditRecordRow } from './audit.repository.js';
import type { AuditEventsQueryDto } from './dto/audit-events-query.dto.js';

export type CallAuditEntry = Omit<AuditRecordInput, 'id'>;

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
}

export interface AuditPage {
  data: AuditRecordRow[];
  limit: number;
  has_more: boolean;
  next_cursor: string | null;
}

export const MAX_PAGE_SIZE = 200;

/** Writes the call log and answers compliance queries over it. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(private readonly repository: AuditRepository) {}

  async recordCall(entry: CallAuditEntry): Promise<void> {
    try {
      await this.repository.record({ id: randomUUID(), ...entry });
    } catch (error) {
      // Never let a failed audit write hide the caller's answer; it is logged loudly instead.
      this.logger.error(`audit write failed for request ${entry.requestId}: ${(error as Error).name}`);
    }
  }

  /**
   * Records an admin action in the same log as the calls. Minimal form, until the audit trail
   * gets its own event kinds: method `ADMIN`, and the action and its target in `route`.
   */
  async recordAdminAction(entry: AdminAuditEntry): Promise<void> {
    await this.recordCall({
      requestId: entry.requestId,
      startedAt: new Date(),
      callerKeyId: entry.actorKeyId,
      callerName: entry.actorName,
      appAlias: entry.appAlias ?? null,
      method: 'ADMIN',
      route: entry.target ? `${entry.action} ${entry.target}` : entry.action,
      status: entry.status,
      upstreamStatus: null,
      outcome: entry.outcome,
      errorCode: entry.errorCode ?? null,
      latencyMs: 0,
      attempts: 0,
      conversationId: null,
      messageId: null,
      taskId: null,
      workflowRunId: null,
    });
  }

  async search(query: AuditEventsQueryDto): Promise<AuditPage> {
    const limit = Math.min(query.limit ?? 50, MAX_PAGE_SIZE);
    const rows = await this.repository.search({
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      callerKeyId: query.caller,
      appAlias: query.app,
      outcome: query.outcome,
      status: query.status,
      limit: limit + 1,
      cursor: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const hasMore = rows.length > limit;
    return { data: page, limit, has_more: hasMore, next_cursor: hasMore && last ? encodeCursor(last) : null };
  }

  async findOne(id: string): Promise<AuditRecordRow> {
    const row = await this.repository.findById(id);
    if (!row) throw GatewayError.notFound('Audit record not found.');
    return row;
  }
}

function encodeCursor(row: AuditRecordRow): string {
  return Buffer.from(JSON.stringify([row.startedAt.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { startedAt: Date; id: string } {
  try {
    const [iso, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const startedAt = new Date(iso);
    if (Number.isNaN(startedAt.getTime()) || typeof id !== 'string' || !isUuid(id)) throw new Error('bad cursor');
    return { startedAt, id };
  } catch {
    throw GatewayError.badRequest('cursor is not a cursor returned by this endpoint.');
  }
}
