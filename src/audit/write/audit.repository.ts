import { Inject, Injectable } from '@nestjs/common';
import { translatePrismaError } from '../../database/database.errors.js';
import { PrismaService } from '../../database/prisma.service.js';
import { Prisma } from '../../generated/prisma/client.js';
import { GENESIS_HASH } from './audit-chain.js';
import type { ChainHead, Checkpoint, EventBody, RecordedEvent, StoredEvent } from '../audit-event.js';
import { BODY_COLUMNS, bodyArrays, bodyOfRow, recordedOfRow, type RawEventRow } from './audit-sql.js';
import { toCheckpoint, toCheckpointRow, toStoredEvent } from '../audit-rows.js';

/** The sequencer's lease: whoever holds it (for one sealing transaction) seals; the others skip. */
export const SEAL_LOCK_KEY = 4_178_032_001;
/** One replica at a time runs checkpoints, recovery and retention. */
export const MAINTENANCE_LOCK_KEY = 4_178_032_002;
/** First half of the two-key advisory lock each running gateway holds for its whole life. */
export const INSTANCE_LOCK_NAMESPACE = 0x647761;

/** The advisory lock key pair of a gateway instance (held on its own session while it runs). */
export function instanceLockKey(instanceId: string): [number, number] {
  return [INSTANCE_LOCK_NAMESPACE, Number.parseInt(instanceId.replace(/-/g, '').slice(0, 8), 16) | 0];
}

/** Computes the chain columns of `events` placed after `head` (see `linkEvents`). */
export type ChainLinker = (head: ChainHead, events: RecordedEvent[], now: Date) => StoredEvent[];

type Tx = Prisma.TransactionClient;

const SEAL_TX = { maxWait: 5_000, timeout: 30_000 };
const MAINTENANCE_TX = { maxWait: 10_000, timeout: 120_000 };

class ProbeRollback extends Error {}

/** What one sealing round did: null when another replica holds the lease. */
export interface SealResult {
  sealed: StoredEvent[];
  /** Rows removed from the inbox that were already sealed (a retried write that had committed). */
  duplicates: number;
}

/**
 * Writes of the audit log (Prisma; tables `audit_pending`, `audit_events`, `audit_checkpoints`).
 * Recording is one autocommitted multi-row insert into the inbox; sealing moves inbox rows into
 * the chain. Sealed events are only ever inserted; the one delete is retention's
 * (`MaintenanceSession.purgeThrough`). Reads are in `AuditReadRepository`.
 * Outside Nest: `new AuditRepository({ client })`.
 */
@Injectable()
export class AuditRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client'>) {}

  /**
   * The write-ahead: one INSERT of every body into the inbox, one round trip, no lock. Durable
   * once it resolves. An id already in the inbox is skipped (a retried batch that did commit).
   */
  async record(bodies: EventBody[]): Promise<RecordedEvent[]> {
    if (bodies.length === 0) return [];
    try {
      return await recordIn(this.prisma.client, bodies);
    } catch (err) {
      throw translatePrismaError(err, 'audit event');
    }
  }

  /** Proves the inbox can be written without writing it: a throwaway row inserted and rolled back. */
  async writeProbe(): Promise<void> {
    try {
      await this.prisma.client.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO audit_pending (id, type) VALUES ('00000000-0000-4000-8000-000000000000'::uuid, 'audit.probe')`;
        throw new ProbeRollback();
      }, SEAL_TX);
    } catch (err) {
      if (err instanceof ProbeRollback) return;
      throw translatePrismaError(err, 'audit event');
    }
  }

  /**
   * One sealing round, if this replica gets the lease (a transaction-level advisory lock, so a
   * sequencer that dies mid-round releases it with its connection): takes up to `limit` inbox
   * rows in the order they were recorded, links them after the head, inserts them into the
   * chain, deletes them from the inbox, all in one transaction.
   */
  async seal(limit: number, link: ChainLinker): Promise<SealResult | null> {
    try {
      // An idle round costs one round trip, not a transaction.
      const [{ any }] = await this.prisma.client.$queryRaw<{ any: boolean }[]>`SELECT EXISTS (SELECT 1 FROM audit_pending) AS any`;
      if (!any) return { sealed: [], duplicates: 0 };
      return await this.prisma.client.$transaction(async (tx) => {
        const [{ locked }] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${SEAL_LOCK_KEY}::bigint) AS locked`;
        if (!locked) return null;
        const rows = await tx.$queryRaw<RawEventRow[]>`
          DELETE FROM audit_pending p USING (SELECT pending_no FROM audit_pending ORDER BY pending_no LIMIT ${limit}) AS batch
           WHERE p.pending_no = batch.pending_no RETURNING p.*`;
        if (rows.length === 0) return { sealed: [], duplicates: 0 };
        const recorded = rows.map(recordedOfRow).sort((x, y) => x.pendingNo - y.pendingNo);
        const known = await tx.$queryRaw<{ id: string }[]>`SELECT id::text AS id FROM audit_events WHERE id = ANY(${recorded.map((r) => r.id)}::uuid[])`;
        const skip = new Set(known.map((k) => k.id));
        const fresh = recorded.filter((r) => !skip.has(r.id)).map(({ pendingNo: _, ...event }) => event);
        if (fresh.length === 0) return { sealed: [], duplicates: rows.length };
        const { head, now } = await readHead(tx);
        const sealed = link(head, fresh, now);
        await insertSealed(tx, sealed);
        return { sealed, duplicates: rows.length - fresh.length };
      }, SEAL_TX);
    } catch (err) {
      throw translatePrismaError(err, 'audit event');
    }
  }

  /**
   * Runs `fn` in one transaction holding the maintenance lock. With `skipIfBusy`, returns
   * undefined at once when another replica holds it.
   */
  async maintain<T>(fn: (session: MaintenanceSession) => Promise<T>, options: { skipIfBusy: boolean }): Promise<T | undefined> {
    try {
      return await this.prisma.client.$transaction(async (tx) => {
        if (options.skipIfBusy) {
          const [{ locked }] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${MAINTENANCE_LOCK_KEY}::bigint) AS locked`;
          if (!locked) return undefined;
        } else {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MAINTENANCE_LOCK_KEY}::bigint)`;
        }
        return fn(new MaintenanceSession(tx));
      }, MAINTENANCE_TX);
    } catch (err) {
      throw translatePrismaError(err, 'audit event');
    }
  }
}

/** What checkpoints, crash recovery and retention may do, inside one maintenance transaction. */
export class MaintenanceSession {
  constructor(private readonly tx: Tx) {}

  async head(): Promise<ChainHead> {
    return (await readHead(this.tx)).head;
  }

  /** Records into the inbox, inside this transaction (the sequencer seals them like any other). */
  record(bodies: EventBody[]): Promise<RecordedEvent[]> {
    return recordIn(this.tx, bodies);
  }

  async latestCheckpoint(kind?: Checkpoint['kind']): Promise<Checkpoint | null> {
    const row = await this.tx.auditCheckpoint.findFirst({ where: kind ? { kind } : {}, orderBy: [{ seq: 'desc' }, { createdAt: 'desc' }] });
    return row ? toCheckpoint(row) : null;
  }

  async insertCheckpoint(cp: Checkpoint): Promise<void> {
    await this.tx.auditCheckpoint.create({ data: toCheckpointRow(cp) });
  }

  /** Instances that recorded `gateway.started` and neither `gateway.stopped` nor were recovered (sealed or not). */
  async unfinishedInstances(): Promise<string[]> {
    const rows = await this.tx.$queryRaw<{ instance_id: string }[]>`
      WITH lifecycle AS (
        SELECT type, instance_id FROM audit_events WHERE type IN ('gateway.started', 'gateway.stopped', 'gateway.recovered')
        UNION ALL
        SELECT type, instance_id FROM audit_pending WHERE type IN ('gateway.started', 'gateway.stopped', 'gateway.recovered'))
      SELECT DISTINCT s.instance_id::text AS instance_id FROM lifecycle s
       WHERE s.type = 'gateway.started' AND s.instance_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM lifecycle e WHERE e.type IN ('gateway.stopped', 'gateway.recovered') AND e.instance_id = s.instance_id)`;
    return rows.map((r) => r.instance_id);
  }

  /**
   * Whether the instance's own session still holds its advisory lock. A killed process's session
   * ends with its connection, releasing the lock. (On PGlite, one process per folder, every other
   * instance is gone: the lock is always free.)
   */
  async isInstanceAlive(instanceId: string): Promise<boolean> {
    const [ns, key] = instanceLockKey(instanceId);
    const [{ free }] = await this.tx.$queryRaw<{ free: boolean }[]>`SELECT pg_try_advisory_xact_lock(${ns}::int, ${key}::int) AS free`;
    return !free;
  }

  /**
   * `call.started` events of the instance (sealed or still in the inbox) that no `call.finished`
   * closes, oldest first; `seq` is null for those not sealed yet.
   */
  async openCalls(instanceId: string): Promise<(EventBody & { seq: number | null })[]> {
    const rows = await this.tx.$queryRaw<RawEventRow[]>`
      WITH calls AS (
        SELECT ${BODY_COLUMNS}, seq, NULL::bigint AS pending_no FROM audit_events WHERE call_id IN (
          SELECT call_id FROM audit_events WHERE type = 'call.started' AND instance_id = ${instanceId}::uuid
          UNION SELECT call_id FROM audit_pending WHERE type = 'call.started' AND instance_id = ${instanceId}::uuid)
        UNION ALL
        SELECT ${BODY_COLUMNS}, NULL::bigint AS seq, pending_no FROM audit_pending WHERE call_id IN (
          SELECT call_id FROM audit_events WHERE type = 'call.started' AND instance_id = ${instanceId}::uuid
          UNION SELECT call_id FROM audit_pending WHERE type = 'call.started' AND instance_id = ${instanceId}::uuid))
      SELECT * FROM calls s
       WHERE s.type = 'call.started' AND s.instance_id = ${instanceId}::uuid
         AND NOT EXISTS (SELECT 1 FROM calls f WHERE f.call_id = s.call_id AND f.type = 'call.finished')
       ORDER BY s.seq NULLS LAST, s.pending_no`;
    return rows.map((r) => ({ ...bodyOfRow(r), seq: r.seq === null || r.seq === undefined ? null : Number(r.seq) }));
  }

  /** The first stored seq (null when the log is empty). */
  async firstSeq(): Promise<number | null> {
    const row = await this.tx.auditEvent.findFirst({ orderBy: { seq: 'asc' }, select: { seq: true } });
    return row ? Number(row.seq) : null;
  }

  /** The last seq recorded before `cutoff` (time and seq grow together). */
  async lastSeqBefore(cutoff: Date): Promise<number | null> {
    const row = await this.tx.auditEvent.findFirst({
      where: { recordedAt: { lt: cutoff } },
      orderBy: [{ recordedAt: 'desc' }, { seq: 'desc' }],
      select: { seq: true },
    });
    return row ? Number(row.seq) : null;
  }

  async eventAt(seq: number): Promise<StoredEvent | null> {
    const row = await this.tx.auditEvent.findUnique({ where: { seq: BigInt(seq) } });
    return row ? toStoredEvent(row) : null;
  }

  /** Retention: deletes events up to `seq` and the checkpoints before it. Returns the events deleted. */
  async purgeThrough(seq: number): Promise<number> {
    const deleted = await this.tx.auditEvent.deleteMany({ where: { seq: { lte: BigInt(seq) } } });
    await this.tx.auditCheckpoint.deleteMany({ where: { seq: { lt: BigInt(seq) } } });
    return deleted.count;
  }
}

/** The chain head and the database clock (ms). Call with the seal lease held. */
async function readHead(tx: Tx): Promise<{ head: ChainHead; now: Date }> {
  const [row] = await tx.$queryRaw<{ seq: bigint | null; hash: string | null; recorded_at: Date | null; now: Date }[]>`
    SELECT e.seq, e.hash, e.recorded_at, date_trunc('milliseconds', clock_timestamp()) AS now
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT seq, hash, recorded_at FROM audit_events ORDER BY seq DESC LIMIT 1) AS e ON true`;
  if (row.seq !== null && row.hash !== null) {
    return { head: { seq: Number(row.seq), hash: row.hash, recordedAt: row.recorded_at }, now: row.now };
  }
  // Every row purged (or none yet): continue from the retention anchor, or from the genesis.
  const anchor = await tx.auditCheckpoint.findFirst({ where: { kind: 'anchor' }, orderBy: { seq: 'desc' } });
  const head = anchor ? { seq: Number(anchor.seq), hash: anchor.hash, recordedAt: null } : { seq: 0, hash: GENESIS_HASH, recordedAt: null };
  return { head, now: row.now };
}

/** The write-ahead statement: one multi-row insert into the inbox (also run on a bare `pg` pool by bench/audit-write.ts). */
export function recordStatement(bodies: EventBody[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO audit_pending (${BODY_COLUMNS}) SELECT * FROM unnest(${Prisma.join(bodyArrays(bodies))})
    ON CONFLICT (id) DO NOTHING RETURNING id::text AS id, received_at`;
}

/** The write-ahead insert (see `AuditRepository.record`), on the client or inside a transaction. */
async function recordIn(db: Pick<Tx, '$queryRaw'>, bodies: EventBody[]): Promise<RecordedEvent[]> {
  const rows = await db.$queryRaw<{ id: string; received_at: Date }[]>(recordStatement(bodies));
  const at = new Map(rows.map((r) => [r.id, new Date(r.received_at)]));
  // A skipped id (already recorded) gets the time of this attempt: it is not stored anywhere.
  const now = rows[0] ? new Date(rows[0].received_at) : new Date();
  return bodies.map((body) => ({ ...body, receivedAt: at.get(body.id) ?? now }));
}

/**
 * One INSERT for the whole sealed batch: a column array per field, `unnest`ed. (Prisma's
 * `createMany` builds the same statement several times slower; this is the sequencer's hot path.)
 */
async function insertSealed(tx: Tx, events: StoredEvent[]): Promise<void> {
  const col = <T>(pick: (e: StoredEvent) => T): T[] => events.map(pick);
  await tx.$executeRaw`
    INSERT INTO audit_events (${BODY_COLUMNS}, seq, recorded_at, received_at, prev_hash, hash, key_id, signature)
    SELECT * FROM unnest(${Prisma.join(bodyArrays(events))},
      ${col((e) => String(e.seq))}::bigint[], ${col((e) => e.recordedAt.toISOString())}::timestamptz[],
      ${col((e) => e.receivedAt?.toISOString() ?? null)}::timestamptz[], ${col((e) => e.prevHash)}::text[], ${col((e) => e.hash)}::text[],
      ${col((e) => e.keyId)}::text[], ${col((e) => e.signature)}::text[])`;
}
