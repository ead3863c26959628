import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { auditConfig } from '../../config/config-namespaces.js';
import { PrismaService } from '../../database/prisma.service.js';
import type { ReleaseSessionLock } from '../../database/session-lock.js';
import { toEventBody } from './audit-chain.js';
import type { Checkpoint, EventBody } from '../audit-event.js';
import { AuditSequencer } from './audit-sequencer.js';
import { AuditSigner } from './audit-signer.js';
import { AuditWriter } from './audit-writer.js';
import { AuditRepository, instanceLockKey } from './audit.repository.js';
import { AuditService } from '../audit.service.js';

/** Events removed per retention transaction (each leaves its own signed anchor). */
const PURGE_CHUNK = 10_000;
const PURGE_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** At shutdown, how long calls still in flight may take to finish before the log is closed. */
const SHUTDOWN_WAIT_MS = 3_000;

/** The reason recorded on calls that were in flight when their gateway died. */
export const GATEWAY_STOPPED = 'outcome unknown: gateway stopped';

/**
 * Provide `false` (from a global module) in a process that uses the log but is no gateway
 * instance, the CLI: no `gateway.started`, no recovery of other instances' calls, no timers. What
 * it recorded is still written and sealed when it closes.
 */
export const AUDIT_UPKEEP = Symbol('AUDIT_UPKEEP');

/**
 * The audit log's upkeep, in the background of every replica:
 * - the sequencer loop (started at boot, drained and stopped at shutdown);
 * - at start: `gateway.started`, then recovery: calls left open by gateways that died (their
 *   advisory lock is gone) are closed with outcome `unknown` ("outcome unknown: gateway
 *   stopped") and a `gateway.recovered` event; again at every interval, for replicas that die
 *   while others run;
 * - every `AUDIT_CHECKPOINT_INTERVAL_MS`: a signed checkpoint of the chain head;
 * - hourly, with `AUDIT_RETENTION_DAYS`: purge of old events, in chunks, each behind a signed
 *   anchor checkpoint so the rest stays verifiable, then an `audit.purged` event;
 * - at shutdown: `gateway.stopped` (only when no call is left open) and a last checkpoint.
 * Only one replica at a time does checkpoints, recovery or retention (an advisory lock).
 */
@Injectable()
export class AuditMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditMaintenance.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private releaseLock?: ReleaseSessionLock;
  private announced = false;
  private lastPurgeAt = 0;

  constructor(
    private readonly audit: AuditService,
    private readonly writer: AuditWriter,
    private readonly sequencer: AuditSequencer,
    private readonly repository: AuditRepository,
    private readonly signer: AuditSigner,
    @Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'holdSessionLock' | 'kind'>,
    @Inject(auditConfig.KEY) private readonly cfg: Pick<ConfigType<typeof auditConfig>, 'retentionDays' | 'checkpointIntervalMs'>,
    @Optional() @Inject(AUDIT_UPKEEP) private readonly upkeep: boolean = true,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.upkeep) return;
    if (!this.signer.enabled) {
      this.logger.warn('AUDIT_SIGNING_KEY_FILE is not set: audit records are hash-chained but not signed (see README, "Audit trail")');
    }
    this.releaseLock = await this.prisma.holdSessionLock(instanceLockKey(this.audit.instanceId), (err) =>
      this.logger.warn(`lost the instance lock's database session (${err.message}); re-acquiring`),
    );
    this.sequencer.start();
    await this.announce().catch((err: unknown) => this.logger.error(`could not record gateway.started: ${(err as Error).message}`));
    await this.recoverOpenCalls().catch((err: unknown) => this.logger.error(`audit recovery failed: ${(err as Error).message}`));
    this.timer = setInterval(() => void this.tick(), this.cfg.checkpointIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    const deadline = Date.now() + SHUTDOWN_WAIT_MS;
    while (this.audit.callsInFlight > 0 && Date.now() < deadline) await sleep(50);
    await Promise.race([this.writer.flushed(), sleep(SHUTDOWN_WAIT_MS)]);
    const clean = this.audit.callsInFlight === 0 && this.writer.healthy && this.writer.backlogSize === 0;
    if (clean && this.announced) {
      // Without it, the next start would see this instance as crashed: nothing left open to close.
      await this.audit.recordSystem({ type: 'gateway.stopped', details: { reason: 'shutdown' } }).catch(() => undefined);
    } else if (this.announced) {
      this.logger.warn(`${this.audit.callsInFlight} calls still open at shutdown: the next start closes them as "${GATEWAY_STOPPED}"`);
    }
    await this.writer.close(SHUTDOWN_WAIT_MS);
    // What this process recorded is sealed now when it can be; otherwise any replica, or the next start, seals it.
    await this.sequencer.sealNow(SHUTDOWN_WAIT_MS).catch(() => undefined);
    await this.sequencer.close();
    if (clean && this.announced) await this.checkpoint().catch(() => undefined);
    await this.releaseLock?.();
  }

  /** One round of upkeep (also called by tests and the CLI). */
  tick(): Promise<void> {
    this.running ??= (async () => {
      if (!this.announced) await this.announce();
      await this.checkpoint();
      await this.recoverOpenCalls({ wait: false });
      if (this.cfg.retentionDays > 0 && Date.now() - this.lastPurgeAt >= PURGE_EVERY_MS) {
        this.lastPurgeAt = Date.now();
        await this.purgeExpired();
      }
    })()
      .catch((err: unknown) => this.logger.error(`audit upkeep failed: ${(err as Error).message}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Seals what is recorded, then writes a signed checkpoint of the head, unless the newest checkpoint already covers it. */
  async checkpoint(): Promise<Checkpoint | null> {
    await this.sequencer.sealNow(SHUTDOWN_WAIT_MS).catch(() => undefined);
    const written = await this.repository.maintain(
      async (m) => {
        const head = await m.head();
        const latest = await m.latestCheckpoint();
        if (head.seq === 0 || (latest && latest.seq >= head.seq)) return null;
        const cp = this.signed({ id: randomUUID(), seq: head.seq, hash: head.hash, kind: 'periodic', createdAt: new Date() });
        await m.insertCheckpoint(cp);
        return cp;
      },
      { skipIfBusy: true },
    );
    if (written) {
      // Also in the log stream: a copy outside the database, for proving the newest rows were not cut off.
      this.logger.log({ event: 'audit_checkpoint', seq: written.seq, hash: written.hash, keyId: written.keyId, signature: written.signature });
    }
    return written ?? null;
  }

  /**
   * Closes the open calls of every gateway instance that is gone. Returns how many were closed.
   * At start it waits for a replica that holds the maintenance lock; on the timer it skips.
   */
  async recoverOpenCalls(options: { wait: boolean } = { wait: true }): Promise<number> {
    const closed = await this.repository.maintain(
      async (m) => {
        let total = 0;
        for (const instanceId of await m.unfinishedInstances()) {
          if (instanceId === this.audit.instanceId || (await m.isInstanceAlive(instanceId))) continue;
          const open = await m.openCalls(instanceId);
          const bodies = open.map((started) => this.unknownOutcome(started));
          bodies.push(
            toEventBody({
              id: randomUUID(),
              type: 'gateway.recovered',
              instanceId,
              details: { recovered_by: this.audit.instanceId, calls_closed: open.length, call_ids: open.slice(0, 500).map((e) => e.callId ?? '') },
            }),
          );
          await m.record(bodies);
          total += open.length;
          this.logger.warn(`gateway instance ${instanceId} stopped without closing its audit log: closed ${open.length} calls as "${GATEWAY_STOPPED}"`);
        }
        return total;
      },
      { skipIfBusy: !options.wait },
    );
    return closed ?? 0;
  }

  /** Deletes events older than the retention period, leaving a signed anchor where the chain now starts. */
  async purgeExpired(now = new Date()): Promise<number> {
    if (this.cfg.retentionDays <= 0) return 0;
    const cutoff = new Date(now.getTime() - this.cfg.retentionDays * DAY_MS);
    let total = 0;
    let anchor: Checkpoint | null = null;
    for (;;) {
      const chunk = await this.repository.maintain(
        async (m) => {
          const last = await m.lastSeqBefore(cutoff);
          const first = await m.firstSeq();
          if (last === null || first === null || first > last) return null;
          const through = Math.min(last, first + PURGE_CHUNK - 1);
          const row = await m.eventAt(through);
          if (!row || (this.signer.enabled && this.signer.checkEvent(row.hash, row.keyId, row.signature) !== 'valid')) {
            this.logger.error(`retention stopped: event ${through} is missing or not signed by this gateway; run "audit verify"`);
            return null;
          }
          const cp = this.signed({ id: randomUUID(), seq: through, hash: row.hash, kind: 'anchor', createdAt: new Date() });
          await m.insertCheckpoint(cp);
          return { deleted: await m.purgeThrough(through), anchor: cp };
        },
        { skipIfBusy: true },
      );
      if (!chunk) break;
      total += chunk.deleted;
      anchor = chunk.anchor;
      if (chunk.deleted < PURGE_CHUNK) break;
    }
    if (total > 0 && anchor) {
      await this.audit.recordSystem({
        type: 'audit.purged',
        details: { cutoff: cutoff.toISOString(), retention_days: this.cfg.retentionDays, events_deleted: total, chain_starts_after_seq: anchor.seq },
      });
      this.logger.log({ event: 'audit_purged', eventsDeleted: total, anchorSeq: anchor.seq, anchorHash: anchor.hash });
    }
    return total;
  }

  private async announce(): Promise<void> {
    await this.audit.recordSystem({
      type: 'gateway.started',
      details: { pid: process.pid, database: this.prisma.kind, signing_key_id: this.signer.keyId, retention_days: this.cfg.retentionDays },
    });
    this.announced = true;
  }

  private unknownOutcome(started: EventBody & { seq: number | null }): EventBody {
    return toEventBody({
      id: randomUUID(),
      type: 'call.finished',
      instanceId: started.instanceId,
      callId: started.callId,
      requestId: started.requestId,
      callerKeyId: started.callerKeyId,
      callerName: started.callerName,
      appAlias: started.appAlias,
      method: started.method,
      route: started.route,
      endUser: started.endUser,
      conversationId: started.conversationId,
      outcome: 'unknown',
      errorCode: 'gateway_stopped',
      details: { reason: GATEWAY_STOPPED, recovered_by: this.audit.instanceId, started_event_id: started.id, started_seq: started.seq },
    });
  }

  private signed(cp: Omit<Checkpoint, 'keyId' | 'signature'>): Checkpoint {
    const signature = this.signer.signCheckpoint(cp);
    return { ...cp, keyId: signature?.keyId ?? null, signature: signature?.signature ?? null };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
