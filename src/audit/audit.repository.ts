import { Inject, Injectable } from '@nestjs/common';
import { isUuid, translatePrismaError } from '../database/database.errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { AuditRecord, Prisma } from '../generated/prisma/client.js';

/** One /v1 call: metadata only (no key, no prompt or answer text). */
export interface AuditRecordInput {
  /** A UUID chosen by the writer. */
  id: string;
  requestId: string;
  startedAt: Date;
  callerKeyId: string | null;
  callerName: string | null;
  appAlias: string | null;
  method: string;
  route: string;
  status: number;
  upstreamStatus: number | null;
  outcome: string;
  errorCode: string | null;
  latencyMs: number;
  attempts: number;
  conversationId: string | null;
  messageId: string | null;
  taskId: string | null;
  workflowRunId: string | null;
}

/** A stored record, as a plain object (dates as `Date`, millisecond precision). */
export type AuditRecordRow = AuditRecordInput;

export interface AuditQuery {
  /** Inclusive lower bound on `startedAt`. */
  from?: Date;
  /** Exclusive upper bound on `startedAt`: `[from, to)`. */
  to?: Date;
  callerKeyId?: string;
  appAlias?: string;
  outcome?: string;
  status?: number;
  /** Rows to return at most (ask for page size + 1 to learn whether there is more). */
  limit: number;
  /** The last row of the previous page: only rows strictly after it, in (startedAt, id) desc order. */
  cursor?: { startedAt: Date; id: string };
}

/** A guard against unbounded reads; `AuditService` caps pages far below this. */
export const MAX_SEARCH_LIMIT = 10_000;

/**
 * The call log (Prisma, table `audit_records`): the only audit code touching the database.
 * Append-only by design: there is no update or delete. Outside Nest: `new AuditRepository({ client })`.
 */
@Injectable()
export class AuditRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client'>) {}

  /** Throws `DuplicateKeyError` for a reused id, `DatabaseUnavailableError` when the store is down. */
  async record(input: AuditRecordInput): Promise<void> {
    try {
      await this.prisma.client.auditRecord.create({ data: toRow(input) });
    } catch (err) {
      throw translatePrismaError(err, 'audit record');
    }
  }

  /** Newest first by (startedAt desc, id desc), keyset-paged by `cursor`; at most `limit` rows. */
  async search(q: AuditQuery): Promise<AuditRecordRow[]> {
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_SEARCH_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    // Key ids are UUIDs: any other value matches nothing (and Postgres would reject the comparison).
    if (q.callerKeyId !== undefined && !isUuid(q.callerKeyId)) return [];
    if (q.cursor && !isUuid(q.cursor.id)) throw new RangeError('cursor.id must be a UUID');

    const and: Prisma.AuditRecordWhereInput[] = [];
    if (q.from) and.push({ startedAt: { gte: q.from } });
    if (q.to) and.push({ startedAt: { lt: q.to } });
    if (q.callerKeyId !== undefined) and.push({ callerKeyId: q.callerKeyId });
    if (q.appAlias !== undefined) and.push({ appAlias: q.appAlias });
    if (q.outcome !== undefined) and.push({ outcome: q.outcome });
    if (q.status !== undefined) and.push({ status: q.status });
    if (q.cursor) {
      const { startedAt, id } = q.cursor;
      // (started_at, id) < (cursor): the redundant `lte` bound lets Postgres range-scan the index.
      and.push({ startedAt: { lte: startedAt } });
      and.push({ OR: [{ startedAt: { lt: startedAt } }, { startedAt, id: { lt: id } }] });
    }

    try {
      const rows = await this.prisma.client.auditRecord.findMany({
        where: { AND: and },
        orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
        take: q.limit,
      });
      return rows.map(toRecord);
    } catch (err) {
      throw translatePrismaError(err, 'audit record');
    }
  }

  async findById(id: string): Promise<AuditRecordRow | null> {
    if (!isUuid(id)) return null;
    try {
      const row = await this.prisma.client.auditRecord.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    } catch (err) {
      throw translatePrismaError(err, 'audit record');
    }
  }
}

/** Copies exactly the known fields: extra properties on the input never reach the database. */
function toRow(r: AuditRecordInput): Prisma.AuditRecordCreateInput {
  return {
    id: r.id,
    requestId: r.requestId,
    startedAt: r.startedAt,
    callerKeyId: r.callerKeyId,
    callerName: r.callerName,
    appAlias: r.appAlias,
    method: r.method,
    route: r.route,
    status: r.status,
    upstreamStatus: r.upstreamStatus,
    outcome: r.outcome,
    errorCode: r.errorCode,
    latencyMs: r.latencyMs,
    attempts: r.attempts,
    conversationId: r.conversationId,
    messageId: r.messageId,
    taskId: r.taskId,
    workflowRunId: r.workflowRunId,
  };
}

function toRecord(r: AuditRecord): AuditRecordRow {
  return {
    id: r.id,
    requestId: r.requestId,
    startedAt: r.startedAt,
    callerKeyId: r.callerKeyId,
    callerName: r.callerName,
    appAlias: r.appAlias,
    method: r.method,
    route: r.route,
    status: r.status,
    upstreamStatus: r.upstreamStatus,
    outcome: r.outcome,
    errorCode: r.errorCode,
    latencyMs: r.latencyMs,
    attempts: r.attempts,
    conversationId: r.conversationId,
    messageId: r.messageId,
    taskId: r.taskId,
    workflowRunId: r.workflowRunId,
  };
}
