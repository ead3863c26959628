import { Logger } from '@nestjs/common';
import { toEventBody } from './audit-chain.js';
import type { EventBody, EventDraft, RecordedEvent } from '../audit-event.js';
import { AuditStoreError, reasonOf, storeErrorOf } from './audit-store-error.js';
import type { AuditRepository } from './audit.repository.js';
import { OwnerRiders, storableOwner, type OwnerRow, type Riding } from './owner-riders.js';

export { AuditStoreError } from './audit-store-error.js';
export type { OwnerRow } from './owner-riders.js';

export interface AuditWriterOptions {
  /** Most events in one insert. */
  maxBatch: number;
  /** How long a batch that is not full may wait for more events (0: as soon as the previous batch is done). */
  maxWaitMs: number;
  /** A batch not committed within this fails (its waiters get `AuditStoreError`). */
  timeoutMs: number;
  /** While failing, how often a write probe checks whether the store is back. */
  probeIntervalMs?: number;
  /** Durable events kept in memory while the store is down; the oldest are dropped beyond it. */
  maxBacklog?: number;
  /**
   * How long durable events (nobody waits for them) wait to ride with the next write-ahead before
   * they are written on their own. Written at once, a call's outcome is a commit of its own that
   * the next call's write-ahead queues behind. Default {@link DURABLE_DELAY_MS}.
   */
  durableDelayMs?: number;
}

/** See `AuditWriterOptions.durableDelayMs`. */
export const DURABLE_DELAY_MS = 10;

interface Waiting {
  body: EventBody;
  /** Durable: kept and retried when its batch fails, nobody waits for it. */
  durable: boolean;
  resolve(event: RecordedEvent | null): void;
  reject(error: Error): void;
}

/**
 * Group commit for the write-ahead. Callers that append at about the same time share one
 * autocommitted multi-row insert into the inbox (one round trip, no lock: replicas never wait
 * for each other): a batch is written as soon as the previous one has committed, so batches grow
 * exactly when the store is the bottleneck, and a lone caller pays one commit. Each `append`
 * resolves only once its batch is committed. Sealing into the chain is the sequencer's job.
 *
 * Fail closed: when a batch fails, its waiters get `AuditStoreError`, the writer turns unhealthy
 * and refuses new appends at once (no waiting on a dead store) until a background write probe
 * succeeds. Durable events (a call's outcome, written after the caller got its answer) survive
 * failures in a bounded in-memory backlog and are written when the store is back. They do not
 * start a batch of their own at once: they join the next append's batch, or go within
 * `durableDelayMs` (a crash in that window leaves the call open, closed as "outcome unknown" at the
 * next start, as a crash before their commit always did).
 */
export class AuditWriter {
  private readonly logger = new Logger(AuditWriter.name);
  private readonly queue: Waiting[] = [];
  /** Owner rows for a coming statement (see owner-riders.ts for which). */
  private readonly riders: OwnerRiders;
  /** Statements of owner rows alone, running beside the batches. */
  private ridersInFlight = 0;
  private backlog: EventBody[] = [];
  private flushing = false;
  private timer?: NodeJS.Timeout;
  /** Set while only durable events are queued: writes them after `durableDelayMs`. */
  private durableTimer?: NodeJS.Timeout;
  /** Queued appends somebody waits for (the rest of the queue is durable). */
  private awaited = 0;
  /** Set by `close`: what is queued goes at once. */
  private draining = false;
  /** Set by `flushNow`: the next batch goes at once, durable events included. */
  private hurryNext = false;
  private probeTimer?: NodeJS.Timeout;
  private isHealthy = true;
  private failure?: string;
  private closed = false;
  private idle: (() => void)[] = [];
  /** Counters for benchmarks and logs. */
  readonly counters = { batches: 0, events: 0, largestBatch: 0, failedBatches: 0, dropped: 0 };

  /** Told after each committed batch (the sequencer seals sooner). */
  onRecorded?: (count: number) => void;
  /** Metrics hooks: an append's wait until its batch committed, and each committed batch's size. */
  onAppended?: (seconds: number) => void;
  onBatch?: (size: number) => void;

  constructor(
    private readonly repository: Pick<AuditRepository, 'record' | 'writeProbe'>,
    private readonly options: AuditWriterOptions,
  ) {
    this.riders = new OwnerRiders(options.durableDelayMs ?? DURABLE_DELAY_MS, () => this.schedule());
  }

  get healthy(): boolean {
    return this.isHealthy && !this.closed;
  }

  /** Why the writer is unhealthy (an error name or code, never a message with values). */
  get lastFailure(): string | undefined {
    return this.failure;
  }

  get backlogSize(): number {
    return this.backlog.length;
  }

  /** Records one event; resolves with it once committed (durable, not sealed yet). Rejects with `AuditStoreError`. */
  append(draft: EventDraft): Promise<RecordedEvent> {
    if (this.closed) return Promise.reject(new AuditStoreError('closed'));
    if (!this.isHealthy) return Promise.reject(new AuditStoreError(this.failure ?? 'unhealthy'));
    const started = performance.now();
    return new Promise<RecordedEvent | null>((resolve, reject) => {
      this.queue.push({ body: toEventBody(draft), durable: false, resolve, reject });
      this.awaited += 1;
      this.schedule();
    }).then((event) => {
      if (!event) throw new AuditStoreError('not stored');
      this.onAppended?.((performance.now() - started) / 1000);
      return event;
    });
  }

  /** Queues an event nobody waits for; it is kept and retried while the store is down. */
  appendDurable(draft: EventDraft): void {
    const body = toEventBody(draft);
    if (this.closed || !this.isHealthy) {
      this.keep([body]);
      return;
    }
    this.queue.push({ body, durable: true, resolve: () => undefined, reject: () => undefined });
    this.schedule();
  }

  /**
   * Queues owner rows for a coming batch's statement (one round trip and one commit with its
   * events; see owner-riders.ts for which). Resolves once committed. Rejects with `AuditStoreError` when that batch fails,
   * when the store is known to be failing, or when a row could not be stored (a NUL character):
   * such rows are not kept, their ids stay unowned (refused), and no event's batch fails for them.
   */
  carryOwners(rows: readonly OwnerRow[], urgent: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new AuditStoreError('closed'));
    if (!this.isHealthy) return Promise.reject(new AuditStoreError(this.failure ?? 'unhealthy'));
    if (!rows.every(storableOwner)) return Promise.reject(new AuditStoreError('unstorable owner row'));
    if (rows.length === 0) return Promise.resolve();
    const committed = this.riders.add(rows, urgent);
    this.schedule();
    return committed;
  }

  /** Resolves when nothing is queued or being written (the backlog may still hold events). */
  flushed(): Promise<void> {
    if (this.idleNow()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Writes what is queued now, durable events without their delay; resolves as `flushed` does. */
  flushNow(): Promise<void> {
    this.hurryNext = true;
    this.schedule();
    return this.flushed();
  }

  /** Writes what is queued (and the backlog, if the store answers), then refuses new appends. */
  async close(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.isHealthy && this.backlog.length > 0) this.requeueBacklog();
    this.schedule();
    await Promise.race([this.flushed(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.durableTimer);
    clearInterval(this.probeTimer);
    this.riders.rejectAll(new AuditStoreError('closed'));
    if (this.backlog.length > 0) {
      this.logger.error(`audit writer closed with ${this.backlog.length} unwritten events (their calls will be closed as "outcome unknown" at the next start)`);
    }
  }

  private schedule(): void {
    if (this.closed) return;
    // Owner rows that must go while no batch is queued: a statement of their own, beside the
    // batches (on another of the pool's connections), so that the next write-ahead does not
    // queue behind it.
    if (!this.flushing && this.queue.length === 0 && this.ridersGo()) this.sendRidersAlone();
    if (this.flushing || this.timer || this.queue.length === 0) return;
    const hurry = this.draining || this.hurryNext || this.riders.isDue || this.riders.urgent || this.queue.length >= this.options.maxBatch;
    if (this.awaited === 0 && !hurry) {
      this.durableTimer ??= setTimeout(() => {
        this.durableTimer = undefined;
        this.startFlush();
      }, this.options.durableDelayMs ?? DURABLE_DELAY_MS);
      return;
    }
    clearTimeout(this.durableTimer);
    this.durableTimer = undefined;
    if (this.options.maxWaitMs > 0 && !hurry) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startFlush();
      }, this.options.maxWaitMs);
      return;
    }
    // setImmediate: appends made in the same turn of the event loop join this batch.
    this.flushing = true;
    setImmediate(() => void this.flush());
  }

  private idleNow(): boolean {
    return !this.flushing && this.ridersInFlight === 0 && this.queue.length === 0 && this.riders.size === 0;
  }

  private settleIdle(): void {
    if (this.idleNow()) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Whether the queued owner rows go now, with whatever is written next. */
  private ridersGo(): boolean {
    return this.riders.size > 0 && (this.riders.isDue || this.riders.urgent || this.draining || this.hurryNext);
  }

  private sendRidersAlone(): void {
    const riding = this.riders.board();
    this.hurryNext = false; // nothing else is queued
    this.ridersInFlight += 1;
    this.withTimeout(
      this.repository.record(
        [],
        riding.flatMap((r) => r.rows),
      ),
    )
      .then(
        () => riding.forEach((r) => r.resolve()),
        (err: unknown) => {
          const error = storeErrorOf(err);
          riding.forEach((r) => r.reject(error));
        },
      )
      .finally(() => {
        this.ridersInFlight -= 1;
        this.schedule();
        this.settleIdle();
      });
  }

  private startFlush(): void {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    void this.flush();
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.options.maxBatch);
    const riding: Riding[] = this.ridersGo() || batch.every((w) => w.durable) ? this.riders.board() : [];
    this.hurryNext = false;
    for (const waiting of batch) if (!waiting.durable) this.awaited -= 1;
    try {
      // A retried body that did commit the first time is skipped by id (here, and again at sealing).
      const bodies = batch.map((w) => w.body);
      const recorded = await this.withTimeout(this.repository.record(bodies, riding.length > 0 ? riding.flatMap((r) => r.rows) : undefined));
      const byId = new Map(recorded.map((e) => [e.id, e]));
      for (const waiting of batch) waiting.resolve(byId.get(waiting.body.id) ?? null);
      for (const owners of riding) owners.resolve();
      if (batch.length > 0) {
        this.counters.batches += 1;
        this.counters.events += recorded.length;
        this.onRecorded?.(recorded.length);
        this.onBatch?.(recorded.length);
        this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
      }
      this.markHealthy();
    } catch (err) {
      const error = storeErrorOf(err);
      this.counters.failedBatches += 1;
      this.keep(batch.filter((w) => w.durable).map((w) => w.body));
      for (const waiting of batch) if (!waiting.durable) waiting.reject(error);
      for (const owners of riding) owners.reject(error);
      this.markUnhealthy(error.reason);
    } finally {
      this.flushing = false;
      this.schedule();
      this.settleIdle();
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AuditStoreError('timeout')), this.options.timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private keep(bodies: EventBody[]): void {
    if (bodies.length === 0) return;
    this.backlog.push(...bodies);
    const max = this.options.maxBacklog ?? 10_000;
    if (this.backlog.length > max) {
      const dropped = this.backlog.splice(0, this.backlog.length - max);
      this.counters.dropped += dropped.length;
      this.logger.error(`audit backlog full: dropped ${dropped.length} call outcomes (those calls stay open until recovery closes them)`);
    }
  }

  private requeueBacklog(): void {
    const bodies = this.backlog;
    this.backlog = [];
    for (const body of bodies) this.queue.push({ body, durable: true, resolve: () => undefined, reject: () => undefined });
    this.schedule();
  }

  private markHealthy(): void {
    if (!this.isHealthy) {
      this.logger.warn(`audit store is writable again${this.backlog.length ? `; writing ${this.backlog.length} kept events` : ''}`);
    }
    this.isHealthy = true;
    this.failure = undefined;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    if (this.backlog.length > 0) this.requeueBacklog();
  }

  private markUnhealthy(reason: string): void {
    if (this.isHealthy) this.logger.error(`audit store cannot be written (${reason}): refusing calls until it can`);
    this.isHealthy = false;
    this.failure = reason;
    if (this.probeTimer || this.closed) return;
    let probing = false;
    this.probeTimer = setInterval(() => {
      if (probing || this.isHealthy) return;
      probing = true;
      this.withTimeout(this.repository.writeProbe())
        .then(() => this.markHealthy())
        .catch((err: unknown) => (this.failure = reasonOf(err)))
        .finally(() => (probing = false));
    }, this.options.probeIntervalMs ?? 1000);
    this.probeTimer.unref();
  }
}
