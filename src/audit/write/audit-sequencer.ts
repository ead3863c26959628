import { Logger } from '@nestjs/common';
import { summarizeSeal, type SealSummary } from './audit-sealer.js';
import type { AuditRepository, ChainLinker } from './audit.repository.js';

export interface AuditSequencerOptions {
  /** Most inbox rows sealed in one transaction. */
  batchSize: number;
  /** How often every replica tries to seal (only the lease holder does; the others skip). */
  intervalMs: number;
}

/**
 * Where the rounds run: in this thread on the repository (`sealInProcess`), or in a worker
 * thread of their own (`SealThread`, Postgres), off the event loop that serves calls.
 */
export interface SealPort {
  /** One round if this replica holds (or takes) the lease; null while another replica holds it. */
  seal(limit: number): Promise<SealSummary | null>;
  /** Gives the lease up (another replica takes over at once). */
  releaseLease(): Promise<void>;
  /** The lowest and highest pending number in the inbox (see `AuditRepository.inboxBounds`). */
  inboxBounds(): Promise<{ oldest: number | null; newest: number | null }>;
  /** Gets ready for rounds ahead of the first (starts the worker thread). */
  open?(): void;
  /** Frees what the port holds (the worker thread). */
  close?(): Promise<void>;
}

/** Rounds on the repository, in this thread (PGlite, whose SQL already runs in a worker of its own; tests). */
export function sealInProcess(repository: Pick<AuditRepository, 'seal' | 'releaseLease' | 'inboxBounds'>, link: ChainLinker): SealPort {
  return {
    seal: async (limit) => {
      const result = await repository.seal(limit, link);
      return result && summarizeSeal(result);
    },
    releaseLease: () => repository.releaseLease(),
    inboxBounds: () => repository.inboxBounds(),
  };
}

/**
 * The sequencer loop, run by every replica: each round tries the seal lease (see
 * `AuditRepository.seal`); the holder moves recorded events from the inbox into the chain, in
 * batches, assigning `seq`, linking and signing them. A round that leaves rows waiting is followed
 * by another at once, so a backlog drains at the store's pace. A replica that dies mid-round loses the lease
 * with its connection and its rows stay in the inbox for the next round, on any replica.
 */
export class AuditSequencer {
  private readonly logger = new Logger(AuditSequencer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = true;
  private failing = false;
  readonly counters = { rounds: 0, busyRounds: 0, failedRounds: 0, sealed: 0, duplicates: 0, largestBatch: 0 };
  /** Metrics hook: each round's seal lags, in seconds (one per sealed event). */
  onSealed?: (lagsSeconds: readonly number[]) => void;

  constructor(
    private readonly port: SealPort,
    private readonly options: AuditSequencerOptions,
  ) {}

  /** Starts the loop (idempotent). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.port.open?.();
    this.schedule(this.options.intervalMs);
  }

  /** Stops the loop after the round in progress and gives the seal lease up. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.port.releaseLease().catch(() => undefined);
    await this.port.close?.().catch(() => undefined);
  }

  /**
   * Seals until what was recorded before the call is sealed, up to `timeoutMs`; while another
   * replica holds the lease (it keeps it while it lives), waits for that replica to seal it.
   * Returns how many events this process sealed. For shutdown, checkpoints, tests and the CLI.
   */
  async sealNow(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let total = 0;
    let mark: number | null | undefined;
    for (;;) {
      const result = await this.round();
      if (result === null) {
        // Everything recorded before the call has a pending number at most the newest one now.
        mark ??= (await this.port.inboxBounds()).newest;
        const { oldest } = await this.port.inboxBounds();
        if (mark === null || oldest === null || oldest > mark || Date.now() > deadline) return total;
        await sleep(20);
        continue;
      }
      total += result.count;
      if (!result.more) return total;
    }
  }

  /** One round, never two at once in this process. Null: another replica holds the lease. */
  private round(): Promise<SealSummary | null> {
    const previous = this.running ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => this.port.seal(this.options.batchSize));
    this.running = next.then(
      (r) => r?.count ?? 0,
      () => 0,
    );
    return next.then(
      (result) => {
        this.counters.rounds += 1;
        if (result === null) this.counters.busyRounds += 1;
        else {
          this.counters.sealed += result.count;
          this.counters.duplicates += result.duplicates;
          this.counters.largestBatch = Math.max(this.counters.largestBatch, result.count);
          if (result.count > 0) this.onSealed?.(result.lagsSeconds);
        }
        if (this.failing) this.logger.warn('audit sealing works again');
        this.failing = false;
        return result;
      },
      (err: unknown) => {
        this.counters.failedRounds += 1;
        if (!this.failing) this.logger.error(`audit sealing failed (${(err as Error).message}); recorded events wait in the inbox and are retried`);
        this.failing = true;
        throw err;
      },
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round().then(
        (result) => {
          this.schedule(result?.more ? 0 : this.options.intervalMs);
        },
        () => this.schedule(this.options.intervalMs),
      );
    }, delayMs);
    this.timer.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
