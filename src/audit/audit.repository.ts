import { Inject, Injectable } from '@nestjs/common';
import { translatePrismaError } from '../database/database.errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';
import { GENESIS_HASH } from './audit-chain.js';
import type { ChainHead, Checkpoint, EventBody, StoredEvent } from './audit-event.js';
import { toCheckpoint, toCheckpointRow, toStoredEvent } from './audit-rows.js';

/** Serializes chain appends across every replica (transaction-level advisory lock). */
export const CHAIN_LOCK_KEY = 4_178_032_001;
/** One replica at a time runs checkpoints, recovery and retention. */
export const MAINTENANCE_LOCK_KEY = 4_178_032_002;
/** First half of the two-key advisory lock each running gateway holds for its whole life. */
export const INSTANCE_LOCK_NAMESPACE = 0x647761;

/** The advisory lock key pair of a gateway instance (held on its own session while it runs). */
export function instanceLockKey(instanceId: string): [number, number] {
  return [INSTANCE_LOCK_NAMESPACE, Number.parseInt(instanceId.replace(/-/g, '').slice(0, 8), 16) | 0];
}

/** Computes the chain columns of `bodies` placed after `head` (see `linkEvents`). */
export type ChainLinker = (head: ChainHead, bodies: EventBody[], now: Date) => StoredEvent[];

type Tx = Prisma.TransactionClient;

const APPEND_TX = { maxWait: 5_000, timeout: 15_000 };
const MAINTENANCE_TX = { maxWait: 10_000, timeout: 120_000 };

class ProbeRollback extends Error {}

/**
 * Writes of the audit chain (Prisma, tables `audit_events` and `audit_checkpoints`). Events are
 * only ever inserted; the one delete is retention's (`MaintenanceSession.purgeThrough`).
 * Reads are in `AuditReadRepository`. Outside Nest: `new AuditRepository({ client })`.
 */
@Injectable()
export class AuditRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client'>) {}

  /**
   * Appends `bodies` to the chain in one transaction: takes the chain lock, reads the head and
   * the database clock, links, inserts all rows in one statement, commits. With `dedupe`, ids
   * already stored are skipped (a retried batch that did commit the first time).
   */
  async append(bodies: EventBody[], link: ChainLinker, options: { dedupe?: boolean } = {}): Promise<StoredEvent[]> {
    if (bodies.length === 0) return [];
    try {
      return await this.prisma.client.$transaction((tx) => appendInTx(tx, bodies, link, options.dedupe ?? false), APPEND_TX);
    } catch (err) {
      throw translatePrismaError(err, 'audit event');
    }
  }

  /**
   * Proves the log can be written without writing it: the same transaction as an append (lock,
   * head, insert of a throwaway row), rolled back. Throws what a real append would throw.
   */
  async writeProbe(): Promise<void> {
    try {
      await this.prisma.client.$transaction(async (tx) => {
        await lockChain(tx);
        const { head, now } = await readHead(tx);
        await tx.auditEvent.create({
          data: { seq: BigInt(head.seq + 1), id: '00000000-0000-4000-8000-000000000000', type: 'audit.probe', recordedAt: now, prevHash: head.hash, hash: GENESIS_HASH },
        });
        throw new ProbeRollback();
      }, APPEND_TX);
    } catch (err) {
      if (err instanceof ProbeRollback) return;
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

  append(bodies: EventBody[], link: ChainLinker): Promise<StoredEvent[]> {
    return appendInTx(this.tx, bodies, link, true);
  }

  async latestCheckpoint(kind?: Checkpoint['kind']): Promise<Checkpoint | null> {
    const row = await this.tx.auditCheckpoint.findFirst({ where: kind ? { kind } : {}, orderBy: [{ seq: 'desc' }, { createdAt: 'desc' }] });
    return row ? toCheckpoint(row) : null;
  }

  async insertCheckpoint(cp: Checkpoint): Promise<void> {
    await this.tx.auditCheckpoint.create({ data: toCheckpointRow(cp) });
  }

  /** Instances that wrote `gateway.started` and neither `gateway.stopped` nor were recovered. */
  async unfinishedInstances(): Promise<string[]> {
    const rows = await this.tx.$queryRaw<{ instance_id: string }[]>`
      SELECT DISTINCT s.instance_id::text AS instance_id FROM audit_events s
       WHERE s.type = 'gateway.started' AND s.instance_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM audit_events e
                          WHERE e.type IN ('gateway.stopped', 'gateway.recovered') AND e.instance_id = s.instance_id)`;
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

  /** `call.started` events of the instance that no `call.finished` closes, oldest first. */
  async openCalls(instanceId: string): Promise<StoredEvent[]> {
    const seqs = await this.tx.$queryRaw<{ seq: bigint }[]>`
      SELECT s.seq FROM audit_events s
       WHERE s.type = 'call.started' AND s.instance_id = ${instanceId}::uuid
         AND NOT EXISTS (SELECT 1 FROM audit_events f WHERE f.call_id = s.call_id AND f.type = 'call.finished')
       ORDER BY s.seq`;
    if (seqs.length === 0) return [];
    const rows = await this.tx.auditEvent.findMany({ where: { seq: { in: seqs.map((s) => s.seq) } }, orderBy: { seq: 'asc' } });
    return rows.map(toStoredEvent);
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

async function lockChain(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY}::bigint)`;
}

/** The chain head and the database clock (ms). Call with the chain lock held. */
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

async function appendInTx(tx: Tx, bodies: EventBody[], link: ChainLinker, dedupe: boolean): Promise<StoredEvent[]> {
  await lockChain(tx);
  const seen = new Set<string>();
  let fresh = bodies.filter((b) => !seen.has(b.id) && seen.add(b.id));
  if (dedupe) {
    const existing = await tx.auditEvent.findMany({ where: { id: { in: fresh.map((b) => b.id) } }, select: { id: true } });
    const known = new Set(existing.map((e) => e.id));
    fresh = fresh.filter((b) => !known.has(b.id));
    if (fresh.length === 0) return [];
  }
  const { head, now } = await readHead(tx);
  const stored = link(head, fresh, now);
  await insertEvents(tx, stored);
  return stored;
}

/**
 * One INSERT for the whole batch: a column array per field, `unnest`ed. (Prisma's `createMany`
 * builds the same statement several times slower; this is the group commit's hot path.)
 */
async function insertEvents(tx: Tx, events: StoredEvent[]): Promise<void> {
  const col = <T>(pick: (e: StoredEvent) => T): T[] => events.map(pick);
  await tx.$executeRaw`
    INSERT INTO audit_events (seq, id, type, recorded_at, instance_id, call_id, request_id, caller_key_id, caller_name, app_alias,
      method, route, end_user, status, upstream_status, outcome, error_code, latency_ms, attempts, conversation_id, message_id,
      task_id, workflow_run_id, total_tokens, total_price, currency, prompt_text, answer_text, details, prev_hash, hash, key_id, signature)
    SELECT * FROM unnest(
      ${col((e) => String(e.seq))}::bigint[], ${col((e) => e.id)}::uuid[], ${col((e) => e.type)}::text[],
      ${col((e) => e.recordedAt.toISOString())}::timestamptz[], ${col((e) => e.instanceId)}::uuid[], ${col((e) => e.callId)}::uuid[],
      ${col((e) => e.requestId)}::text[], ${col((e) => e.callerKeyId)}::uuid[], ${col((e) => e.callerName)}::text[],
      ${col((e) => e.appAlias)}::text[], ${col((e) => e.method)}::text[], ${col((e) => e.route)}::text[], ${col((e) => e.endUser)}::text[],
      ${col((e) => e.status)}::int[], ${col((e) => e.upstreamStatus)}::int[], ${col((e) => e.outcome)}::text[], ${col((e) => e.errorCode)}::text[],
      ${col((e) => e.latencyMs)}::int[], ${col((e) => e.attempts)}::int[], ${col((e) => e.conversationId)}::text[], ${col((e) => e.messageId)}::text[],
      ${col((e) => e.taskId)}::text[], ${col((e) => e.workflowRunId)}::text[], ${col((e) => e.totalTokens)}::int[], ${col((e) => e.totalPrice)}::text[],
      ${col((e) => e.currency)}::text[], ${col((e) => e.promptText)}::text[], ${col((e) => e.answerText)}::text[],
      ${col((e) => (e.details === null ? null : JSON.stringify(e.details)))}::jsonb[], ${col((e) => e.prevHash)}::text[], ${col((e) => e.hash)}::text[],
      ${col((e) => e.keyId)}::text[], ${col((e) => e.signature)}::text[])`;
}
