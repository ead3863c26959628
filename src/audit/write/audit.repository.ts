import { Inject, Injectable } from '@nestjs/common';
import { translateDriverError, translatePrismaError } from '../../database/database.errors.js';
import { PrismaService } from '../../database/prisma.service.js';
import { Prisma } from '../../generated/prisma/client.js';
import { GENESIS_HASH } from './audit-chain.js';
import type { ChainHead, Checkpoint, EventBody, RecordedEvent, StoredEvent } from '../audit-event.js';
import { BODY_COLUMNS, bodyArrays } from './audit-body-arrays.js';
import { bodyOfRow, type RawEventRow } from './audit-sql.js';
import { InboxSealer, type ChainLinker, type SealResult } from './audit-sealer.js';
import { bodiesJson, ownerArrays, RECORD_OWNERS_SQL, RECORD_SQL, RECORD_WITH_OWNERS_SQL } from './audit-statements.js';
import type { OwnerRow } from './owner-riders.js';
import { DROP_EMPTY_ROLLUP_SQL, PURGE_EVENTS_SQL } from './audit-stats-sql.js';
import { toCheckpoint, toCheckpointRow, toStoredEvent } from '../audit-rows.js';

export { SEAL_LOCK_KEY, type ChainLinker, type SealResult } from './audit-sealer.js';
/** One replica at a time runs checkpoints, recovery and retention. */
export const MAINTENANCE_LOCK_KEY = 4_178_032_002;
/** First half of the two-key advisory lock each running gateway holds for its whole life. */
export const INSTANCE_LOCK_NAMESPACE = 0x647761;

/** The advisory lock key pair of a gateway instance (held on its own session while it runs). */
export function instanceLockKey(instanceId: string): [number, number] {
  return [INSTANCE_LOCK_NAMESPACE, Number.parseInt(instanceId.replace(/-/g, '').slice(0, 8), 16) | 0];
}

type Tx = Prisma.TransactionClient;

const PROBE_TX = { maxWait: 5_000, timeout: 30_000 };
const MAINTENANCE_TX = { maxWait: 10_000, timeout: 120_000 };

class ProbeRollback extends Error {}

/**
 * Writes of the audit log (Prisma; tables `audit_pending`, `audit_events`, `audit_checkpoints`).
 * Recording is one autocommitted multi-row insert into the inbox; sealing moves inbox rows into
 * the chain. Sealed events are only ever inserted; the one delete is retention's
 * (`MaintenanceSession.purgeThrough`). Reads are in `AuditReadRepository`.
 * The write-ahead and sealing run as bare SQL (`RawSql`), the rest through Prisma.
 * Outside Nest: `new AuditRepository({ client, sql })`.
 */
@Injectable()
export class AuditRepository {
  private readonly sealer = new InboxSealer(() => this.prisma.sql);

  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client' | 'sql'>) {}

  /**
   * The write-ahead: one INSERT of every body into the inbox, one round trip, no lock. Durable
   * once it resolves. An id already in the inbox is skipped (a retried batch that did commit).
   * `owners` (who owns which Dify id) go in the same statement: still one round trip and one commit.
   */
  async record(bodies: EventBody[], owners: readonly OwnerRow[] = []): Promise<RecordedEvent[]> {
    try {
      if (bodies.length === 0) {
        if (owners.length > 0) await this.prisma.sql.query(RECORD_OWNERS_SQL, ownerArrays(owners));
        return [];
      }
      const rows =
        owners.length > 0
          ? await this.prisma.sql.query<{ id: string; received_at: Date }>(RECORD_WITH_OWNERS_SQL, [bodiesJson(bodies), ...ownerArrays(owners)])
          : await this.prisma.sql.query<{ id: string; received_at: Date }>(RECORD_SQL, [bodiesJson(bodies)]);
      return recordedOf(bodies, rows);
    } catch (err) {
      throw translateDriverError(err);
    }
  }

  /** Proves the inbox can be written without writing it: a throwaway row inserted and rolled back. */
  async writeProbe(): Promise<void> {
    try {
      await this.prisma.client.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO audit_pending (id, type) VALUES ('00000000-0000-4000-8000-000000000000'::uuid, 'audit.probe')`;
        throw new ProbeRollback();
      }, PROBE_TX);
    } catch (err) {
      if (err instanceof ProbeRollback) return;
      throw translatePrismaError(err, 'audit event');
    }
  }

  /**
   * One sealing round, if this replica holds the lease (see `InboxSealer`): takes up to `limit`
   * inbox rows in the order they were recorded, links them after the head, inserts them into
   * the chain and deletes them from the inbox, in one transaction.
   */
  async seal(limit: number, link: ChainLinker): Promise<SealResult | null> {
    try {
      return await this.sealer.round(limit, link);
    } catch (err) {
      throw translateDriverError(translatePrismaError(err, 'audit event'));
    }
  }

  /** The lowest and highest pending number in the inbox (nulls when it is empty): how `sealNow` waits on another replica's sequencer. */
  async inboxBounds(): Promise<{ oldest: number | null; newest: number | null }> {
    try {
      const [row] = await this.prisma.sql.query<{ oldest: string | null; newest: string | null }>(
        'SELECT min(pending_no) AS oldest, max(pending_no) AS newest FROM audit_pending',
      );
      return { oldest: row.oldest === null ? null : Number(row.oldest), newest: row.newest === null ? null : Number(row.newest) };
    } catch (err) {
      throw translateDriverError(err);
    }
  }

  /** Gives the seal lease up (closes its connection). At shutdown, so another replica takes over at once. */
  releaseLease(): Promise<void> {
    return this.sealer.release();
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

  /**
   * Retention: deletes events up to `seq` (subtracting them from the statistics rollup in the
   * same statement) and the checkpoints before it. Returns the events deleted.
   */
  async purgeThrough(seq: number): Promise<number> {
    const last = await this.tx.auditEvent.findUnique({ where: { seq: BigInt(seq) }, select: { recordedAt: true } });
    const [{ n }] = await this.tx.$queryRawUnsafe<{ n: number }[]>(PURGE_EVENTS_SQL, seq);
    if (last) for (const sql of DROP_EMPTY_ROLLUP_SQL) await this.tx.$executeRawUnsafe(sql, last.recordedAt);
    await this.tx.auditCheckpoint.deleteMany({ where: { seq: { lt: BigInt(seq) } } });
    return Number(n);
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
  return recordedOf(bodies, await db.$queryRaw<{ id: string; received_at: Date }[]>(recordStatement(bodies)));
}

function recordedOf(bodies: EventBody[], rows: { id: string; received_at: Date }[]): RecordedEvent[] {
  const at = new Map(rows.map((r) => [r.id, new Date(r.received_at)]));
  // A skipped id (already recorded) gets the time of this attempt: it is not stored anywhere.
  const now = rows[0] ? new Date(rows[0].received_at) : new Date();
  return bodies.map((body) => ({ ...body, receivedAt: at.get(body.id) ?? now }));
}
