import { Inject, Injectable } from '@nestjs/common';
import { isUuid, translatePrismaError } from '../../database/database.errors.js';
import { PrismaService } from '../../database/prisma.service.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { AuditRow, Checkpoint, StoredEvent, UnsealedEvent } from '../audit-event.js';
import { toCheckpoint, toStoredEvent, toUnsealedEvent } from '../audit-rows.js';
import { statsSql, toStatsRow, type RawStatsRow, type StatsDimension, type StatsFilter, type StatsPageOptions, type StatsRow } from './audit-stats-query.js';

/**
 * Filters on events; every one is an exact match. `fromSeq`/`toSeq` are inclusive and apply to
 * sealed events; unsealed ones are filtered on the time they were recorded, `[receivedFrom, receivedTo)`.
 */
export interface EventFilter {
  fromSeq?: number;
  toSeq?: number;
  receivedFrom?: Date;
  receivedTo?: Date;
  type?: string;
  callId?: string;
  callerKeyId?: string;
  appAlias?: string;
  route?: string;
  outcome?: string;
  status?: number;
  requestId?: string;
  conversationId?: string;
  messageId?: string;
  endUser?: string;
}

export type { StatsDimension, StatsFilter, StatsKey, StatsPageOptions, StatsRow } from './audit-stats-query.js';

/** A guard against unbounded reads; services cap pages far below it. */
export const MAX_READ_LIMIT = 10_000;

/**
 * Reads of the audit log: filtered pages (newest first, keyset on `seq`), ascending scans for
 * export and verification, single events and calls, checkpoints, statistics.
 */
@Injectable()
export class AuditReadRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client'>) {}

  /**
   * Maps a time window `[from, to)` on `recordedAt` to the inclusive `seq` range it covers (time
   * and `seq` grow together), so that every filter runs on a `seq` range. Null: nothing inside.
   */
  async seqRange(from?: Date, to?: Date): Promise<{ fromSeq?: number; toSeq?: number } | null> {
    return this.read(async (client) => {
      const range: { fromSeq?: number; toSeq?: number } = {};
      if (from) {
        const first = await client.auditEvent.findFirst({
          where: { recordedAt: { gte: from } },
          orderBy: [{ recordedAt: 'asc' }, { seq: 'asc' }],
          select: { seq: true },
        });
        if (!first) return null;
        range.fromSeq = Number(first.seq);
      }
      if (to) {
        const last = await client.auditEvent.findFirst({
          where: { recordedAt: { lt: to } },
          orderBy: [{ recordedAt: 'desc' }, { seq: 'desc' }],
          select: { seq: true },
        });
        if (!last) return null;
        range.toSeq = Number(last.seq);
      }
      if (range.fromSeq !== undefined && range.toSeq !== undefined && range.fromSeq > range.toSeq) return null;
      return range;
    });
  }

  /** Newest first; only rows with `seq < beforeSeq` when given. */
  async search(filter: EventFilter, page: { limit: number; beforeSeq?: number }): Promise<StoredEvent[]> {
    checkLimit(page.limit);
    const where = whereOf(filter, page.beforeSeq === undefined ? undefined : { lt: BigInt(page.beforeSeq) });
    if (!where) return [];
    return this.read(async (client) => (await client.auditEvent.findMany({ where, orderBy: { seq: 'desc' }, take: page.limit })).map(toStoredEvent));
  }

  /** Oldest first, only rows with `seq > afterSeq`: the keyset batches of exports and verification. */
  async scan(filter: EventFilter, page: { limit: number; afterSeq?: number }): Promise<StoredEvent[]> {
    checkLimit(page.limit);
    const where = whereOf(filter, page.afterSeq === undefined ? undefined : { gt: BigInt(page.afterSeq) });
    if (!where) return [];
    return this.read(async (client) => (await client.auditEvent.findMany({ where, orderBy: { seq: 'asc' }, take: page.limit })).map(toStoredEvent));
  }

  /** Recorded events not sealed yet, newest first; only those with `pendingNo < beforePendingNo` when given. */
  async searchPending(filter: EventFilter, page: { limit: number; beforePendingNo?: number }): Promise<UnsealedEvent[]> {
    checkLimit(page.limit);
    const where = pendingWhereOf(filter, page.beforePendingNo === undefined ? undefined : { lt: BigInt(page.beforePendingNo) });
    if (!where) return [];
    return this.read(async (client) => (await client.auditPending.findMany({ where, orderBy: { pendingNo: 'desc' }, take: page.limit })).map(toUnsealedEvent));
  }

  /** Recorded events not sealed yet, in the order they were recorded (and will be sealed). */
  async scanPending(filter: EventFilter, page: { limit: number; afterPendingNo?: number }): Promise<UnsealedEvent[]> {
    checkLimit(page.limit);
    const where = pendingWhereOf(filter, page.afterPendingNo === undefined ? undefined : { gt: BigInt(page.afterPendingNo) });
    if (!where) return [];
    return this.read(async (client) => (await client.auditPending.findMany({ where, orderBy: { pendingNo: 'asc' }, take: page.limit })).map(toUnsealedEvent));
  }

  /** How many events wait to be sealed, the oldest of them, and the database clock (for its age). */
  async pendingStatus(): Promise<{ count: number; oldest: UnsealedEvent | null; now: Date }> {
    return this.read(async (client) => {
      const [oldest, count, [{ now }]] = await Promise.all([
        client.auditPending.findFirst({ orderBy: { pendingNo: 'asc' } }),
        client.auditPending.count(),
        client.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`,
      ]);
      return { count, oldest: oldest ? toUnsealedEvent(oldest) : null, now: new Date(now) };
    });
  }

  /** An event by id, sealed or not. */
  async findById(id: string): Promise<AuditRow | null> {
    if (!isUuid(id)) return null;
    return this.read(async (client) => {
      const row = await client.auditEvent.findUnique({ where: { id } });
      if (row) return toStoredEvent(row);
      const pending = await client.auditPending.findUnique({ where: { id } });
      return pending ? toUnsealedEvent(pending) : null;
    });
  }

  /** Every event of a call: the sealed ones in chain order, then the unsealed ones in the order recorded. */
  async findByCall(callId: string): Promise<AuditRow[]> {
    if (!isUuid(callId)) return [];
    return this.read(async (client) => {
      const pending = (await client.auditPending.findMany({ where: { callId }, orderBy: { pendingNo: 'asc' } })).map(toUnsealedEvent);
      // Read after the inbox: an event sealed in between is found here rather than missed.
      const sealed = (await client.auditEvent.findMany({ where: { callId }, orderBy: { seq: 'asc' } })).map(toStoredEvent);
      const sealedIds = new Set(sealed.map((e) => e.id));
      return [...sealed, ...pending.filter((e) => !sealedIds.has(e.id))];
    });
  }

  /** First and last stored seq; null when the log is empty. */
  async bounds(): Promise<{ first: number; last: number } | null> {
    return this.read(async (client) => {
      const agg = await client.auditEvent.aggregate({ _min: { seq: true }, _max: { seq: true } });
      return agg._min.seq === null || agg._max.seq === null ? null : { first: Number(agg._min.seq), last: Number(agg._max.seq) };
    });
  }

  /** Checkpoints with `seq` in the inclusive range, ascending. */
  async checkpoints(range: { fromSeq?: number; toSeq?: number } = {}): Promise<Checkpoint[]> {
    return this.read(async (client) => {
      const seq: Prisma.BigIntFilter<'AuditCheckpoint'> = {};
      if (range.fromSeq !== undefined) seq.gte = BigInt(range.fromSeq);
      if (range.toSeq !== undefined) seq.lte = BigInt(range.toSeq);
      const rows = await client.auditCheckpoint.findMany({ where: { seq }, orderBy: [{ seq: 'asc' }, { createdAt: 'asc' }] });
      return rows.map(toCheckpoint);
    });
  }

  /** The checkpoint with the highest seq (the newest signed statement about the head). */
  async latestCheckpoint(): Promise<Checkpoint | null> {
    return this.read(async (client) => {
      const row = await client.auditCheckpoint.findFirst({ orderBy: [{ seq: 'desc' }, { createdAt: 'desc' }] });
      return row ? toCheckpoint(row) : null;
    });
  }

  /**
   * Calls, errors (outcome other than success), tokens and cost of sealed `call.finished` events
   * recorded in `[from, to)`, grouped by the chosen dimensions (a dimension not chosen is null in
   * every row). Days are UTC. Read from the rollup the sequencer keeps (see `statsSql`). Ordered
   * by day, caller and app (nulls first); `page` limits them to those after a group.
   */
  async stats(filter: StatsFilter, groupBy: readonly StatsDimension[], page: StatsPageOptions = {}): Promise<StatsRow[]> {
    if (filter.callerKeyId !== undefined && !isUuid(filter.callerKeyId)) return [];
    const sql = statsSql(filter, groupBy, page);
    if (!sql) return [];
    // A week by day, caller and app groups 25,000 to 45,000 rollup rows into 12,800 groups (each with its costs
    // array): in memory, not spilled to disk at the default 4 MB (nor at 32 MB, measured at 10M events). The read
    // is bounded (see planStats): parallel workers cost more to start than they saved, measured at 10M events.
    return this.read(async (client) => {
      const [, , rows] = await client.$transaction([
        client.$executeRaw`SET LOCAL work_mem = '64MB'`,
        client.$executeRaw`SET LOCAL max_parallel_workers_per_gather = 0`,
        client.$queryRaw<RawStatsRow[]>(sql),
      ]);
      return rows.map((r) => toStatsRow(r, groupBy));
    });
  }

  private async read<T>(fn: (client: PrismaService['client']) => Promise<T>): Promise<T> {
    try {
      return await fn(this.prisma.client);
    } catch (err) {
      throw translatePrismaError(err, 'audit event');
    }
  }
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_READ_LIMIT) throw new RangeError(`limit must be an integer from 1 to ${MAX_READ_LIMIT}`);
}

/** The Prisma filter, or null when it can match nothing (a malformed UUID, an empty range). */
function whereOf(f: EventFilter, keyset?: { lt?: bigint; gt?: bigint }): Prisma.AuditEventWhereInput | null {
  const seq: Prisma.BigIntFilter<'AuditEvent'> = { ...keyset };
  if (f.fromSeq !== undefined) seq.gte = BigInt(f.fromSeq);
  if (f.toSeq !== undefined) seq.lte = BigInt(f.toSeq);
  const fields = fieldsWhereOf(f);
  return fields && { ...fields, seq };
}

/** The inbox's filter: the same fields, the time window on `receivedAt`. */
function pendingWhereOf(f: EventFilter, keyset?: { lt?: bigint; gt?: bigint }): Prisma.AuditPendingWhereInput | null {
  const fields = fieldsWhereOf(f);
  if (!fields) return null;
  const receivedAt: Prisma.DateTimeFilter<'AuditPending'> = {};
  if (f.receivedFrom) receivedAt.gte = f.receivedFrom;
  if (f.receivedTo) receivedAt.lt = f.receivedTo;
  return { ...fields, receivedAt, pendingNo: { ...keyset } };
}

function fieldsWhereOf(f: EventFilter): (Prisma.AuditEventWhereInput & Prisma.AuditPendingWhereInput) | null {
  for (const id of [f.callerKeyId, f.callId]) if (id !== undefined && !isUuid(id)) return null;
  const where: Prisma.AuditEventWhereInput & Prisma.AuditPendingWhereInput = {};
  if (f.type !== undefined) where.type = f.type;
  if (f.callId !== undefined) where.callId = f.callId;
  if (f.callerKeyId !== undefined) where.callerKeyId = f.callerKeyId;
  if (f.appAlias !== undefined) where.appAlias = f.appAlias;
  if (f.route !== undefined) where.route = f.route;
  if (f.outcome !== undefined) where.outcome = f.outcome;
  if (f.status !== undefined) where.status = f.status;
  if (f.requestId !== undefined) where.requestId = f.requestId;
  if (f.conversationId !== undefined) where.conversationId = f.conversationId;
  if (f.messageId !== undefined) where.messageId = f.messageId;
  if (f.endUser !== undefined) where.endUser = f.endUser;
  return where;
}
