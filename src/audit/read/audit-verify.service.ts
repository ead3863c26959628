import { Inject, Injectable, Optional } from '@nestjs/common';
import { GatewaySignals } from '../../common/gateway-signals.js';
import type { ConfigType } from '@nestjs/config';
import { auditConfig } from '../../config/config-namespaces.js';
import { GENESIS_HASH } from '../write/audit-chain.js';
import type { Checkpoint, StoredEvent } from '../audit-event.js';
import { AuditReadRepository } from './audit-read.repository.js';
import { AuditSigner } from '../write/audit-signer.js';
import { verifyChain, type ChainStart, type VerifyResult } from './audit-verifier.js';
import { pendingWords, summarizeVerify } from './verify-summary.js';

export interface VerifyRange {
  /** Inclusive seq bounds, or times (mapped to seq; `to` exclusive). Seq wins when both are given. */
  fromSeq?: number;
  toSeq?: number;
  from?: Date;
  to?: Date;
}

export interface VerifyReport extends VerifyResult {
  /** The range asked for, as seq (null: the start or the end of the log). */
  range: { fromSeq: number | null; toSeq: number | null };
  /** Where the walk started: the chain's start, a retention anchor or a checkpoint before the range. */
  startedFrom: 'genesis' | 'anchor' | 'checkpoint';
  /**
   * Events recorded and not sealed yet (only when the range runs to the end of the log): how
   * many, and the oldest one's age. Older than `maxLagMs` fails verification (`unsealed`).
   */
  unsealed: UnsealedReport | null;
  /** One line for people, calm when all is well: `OK: ...`, `NOT SEALED: ...` or `TAMPERED: ...`. */
  summary: string;
}

export interface UnsealedReport {
  count: number;
  oldestId: string | null;
  oldestReceivedAt: Date | null;
  oldestAgeMs: number | null;
  maxLagMs: number;
}

const SCAN_BATCH = 2_000;

/**
 * Verifies the chain, all of it or a range: a range is walked from the newest signed checkpoint
 * before it, so that its first row is proven too. Up to the end of the log, it also reports the
 * events not sealed yet: what is recorded but unsealed is not covered by any hash, so an event
 * left so longer than the bound is a failure. Used by `GET /audit/verify` and the CLI.
 */
@Injectable()
export class AuditVerifyService {
  constructor(
    private readonly read: AuditReadRepository,
    private readonly signer: AuditSigner,
    @Inject(auditConfig.KEY) private readonly cfg: Pick<ConfigType<typeof auditConfig>, 'seal'>,
    @Optional() private readonly signals?: GatewaySignals,
  ) {}

  async verify(range: VerifyRange = {}): Promise<VerifyReport> {
    const report = await this.check(range);
    // A failure is an alert (once per problem found, see src/alerts).
    if (!report.ok && report.problem) this.signals?.emit({ kind: 'audit.verify_failed', problem: report.problem.kind, seq: report.problem.seq ?? null });
    return report;
  }

  private async check(range: VerifyRange): Promise<VerifyReport> {
    let fromSeq = range.fromSeq;
    let toSeq = range.toSeq;
    if ((fromSeq === undefined && range.from) || (toSeq === undefined && range.to)) {
      const mapped = await this.read.seqRange(fromSeq === undefined ? range.from : undefined, toSeq === undefined ? range.to : undefined);
      if (!mapped) return this.emptyRange(fromSeq ?? null, toSeq ?? null);
      fromSeq ??= mapped.fromSeq;
      toSeq ??= mapped.toSeq;
    }

    const bounds = await this.read.bounds();
    const latest = await this.read.latestCheckpoint();
    const toEnd = toSeq === undefined || bounds === null || toSeq >= bounds.last;
    const { start, startedFrom, startCheckpoint } = await this.startFor(fromSeq, bounds?.first ?? null);
    const checkpoints = await this.read.checkpoints({ fromSeq: start.seq, toSeq });
    const result = await verifyChain({
      start,
      rows: this.rows(start.seq - 1, toSeq),
      checkpoints: startCheckpoint ? [startCheckpoint, ...checkpoints] : checkpoints,
      latestCheckpoint: toEnd ? latest : undefined,
      signer: this.signer,
    });
    const unsealed = toEnd ? await this.unsealed() : null;
    const report: VerifyReport = { ...result, range: { fromSeq: fromSeq ?? null, toSeq: toSeq ?? null }, startedFrom, unsealed, summary: '' };
    if (report.ok && unsealed && unsealed.oldestAgeMs !== null && unsealed.oldestAgeMs > unsealed.maxLagMs) {
      report.ok = false;
      report.problem = {
        kind: 'unsealed',
        seq: (result.lastSeq ?? bounds?.last ?? 0) + 1,
        eventId: unsealed.oldestId,
        message:
          `event ${unsealed.oldestId} was recorded at ${unsealed.oldestReceivedAt?.toISOString()} and is still not sealed after ${unsealed.oldestAgeMs} ms ` +
          `(bound ${unsealed.maxLagMs} ms): no sequencer is sealing, or the inbox was tampered with`,
      };
    } else if (unsealed && unsealed.count > 0) {
      // Normal while calls come in: sealing is a batch every AUDIT_SEAL_INTERVAL_MS.
      report.notes.push(`${pendingWords(unsealed)}, not covered by the chain until sealed (bound ${unsealed.maxLagMs} ms)`);
    }
    report.summary = summarizeVerify(report, this.cfg.seal.intervalMs);
    return report;
  }

  private async unsealed(): Promise<UnsealedReport> {
    const status = await this.read.pendingStatus();
    const oldest = status.oldest;
    return {
      count: status.count,
      oldestId: oldest?.id ?? null,
      oldestReceivedAt: oldest?.receivedAt ?? null,
      oldestAgeMs: oldest ? Math.max(0, status.now.getTime() - oldest.receivedAt.getTime()) : null,
      maxLagMs: this.cfg.seal.maxLagMs,
    };
  }

  /** The start of the chain (genesis, or the retention anchor), or the newest trusted checkpoint before `fromSeq`. */
  private async startFor(
    fromSeq: number | undefined,
    firstStored: number | null,
  ): Promise<{ start: ChainStart; startedFrom: VerifyReport['startedFrom']; startCheckpoint?: Checkpoint }> {
    if (fromSeq !== undefined && fromSeq > 1) {
      const before = await this.read.checkpoints({ toSeq: fromSeq - 1 });
      const trusted = before.filter((cp) => !this.signer.enabled || this.signer.checkCheckpoint(cp) === 'valid').at(-1);
      if (trusted && (firstStored === null || trusted.seq >= firstStored - 1)) {
        return {
          start: { seq: trusted.seq + 1, prevHash: trusted.hash },
          startedFrom: trusted.kind === 'anchor' ? 'anchor' : 'checkpoint',
          startCheckpoint: trusted,
        };
      }
    }
    const anchors = (await this.read.checkpoints()).filter((cp) => cp.kind === 'anchor');
    const anchor = anchors.at(-1);
    if (anchor) return { start: { seq: anchor.seq + 1, prevHash: anchor.hash }, startedFrom: 'anchor', startCheckpoint: anchor };
    return { start: { seq: 1, prevHash: GENESIS_HASH }, startedFrom: 'genesis' };
  }

  private async *rows(afterSeq: number, toSeq: number | undefined): AsyncGenerator<StoredEvent> {
    let after = afterSeq;
    for (;;) {
      const batch = await this.read.scan({ toSeq }, { limit: SCAN_BATCH, afterSeq: after });
      yield* batch;
      if (batch.length < SCAN_BATCH) return;
      after = batch[batch.length - 1].seq;
    }
  }

  private emptyRange(fromSeq: number | null, toSeq: number | null): VerifyReport {
    const report: VerifyReport = {
      ...{ ok: true, checked: 0, firstSeq: null, lastSeq: null, checkpointsChecked: 0, signed: this.signer.enabled, problem: null, warnings: [] },
      ...{ notes: ['no events in this time range'], range: { fromSeq, toSeq }, startedFrom: 'genesis', unsealed: null, summary: '' },
    };
    report.summary = summarizeVerify(report, this.cfg.seal.intervalMs);
    return report;
  }
}
