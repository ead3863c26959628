import { Logger } from '@nestjs/common';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { SinkConfig } from '../../config/audit-sinks.js';
import type { StoredEvent } from '../audit-event.js';
import { presentEvent } from '../read/audit-presenter.js';
import type { EventFilter } from '../read/audit-read.repository.js';
import { contiguousRun } from './contiguous-run.js';
import type { SinkCursorRepository, SinkLease } from './sink-cursor.repository.js';
import { SinkDeliveryError, type SinkTransport } from './sink-transport.js';

export interface SinkStatus {
  name: string;
  type: SinkConfig['type'];
  /** This replica holds the sink's lease (it is the one delivering). */
  delivering: boolean;
  deliveredSeq: number;
  lagEvents: number;
  lagSeconds: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastDeliveredAt: string | null;
}

/** Where a delivery reports (metrics). */
export interface SinkObserver {
  delivered(sink: string, events: number, seconds: number): void;
  failed(sink: string, reason: string): void;
  lag(sink: string, events: number, seconds: number): void;
}

/** How long a gap right after the cursor may last before it is taken as purged by retention. */
export const SINK_GAP_PATIENCE_MS = 30_000;

type Scan = (filter: EventFilter, page: { limit: number; afterSeq?: number }) => Promise<StoredEvent[]>;

/**
 * One sink's delivery loop, run by every replica: the replica holding the sink's lease reads the
 * sealed events after the stored cursor, in seq order, sends them as one batch and moves the
 * cursor to the last one only once the receiver has it (at least once: a batch cut by a crash,
 * a timeout or an outage is sent again, whole). Failures wait with exponential backoff and jitter.
 * The others only read the cursor, for the lag figures.
 */
export class SinkDelivery {
  private readonly logger: Logger;
  private readonly lease: SinkLease;
  private readonly backoffs: ExponentialBackoff<unknown>;
  private backoff?: IBackoff<unknown>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = true;
  private state: SinkStatus;
  /** When the current gap after the cursor was first seen. */
  private gapSince?: number;

  constructor(
    private readonly cfg: SinkConfig,
    private readonly transport: SinkTransport,
    private readonly scan: Scan,
    private readonly cursors: SinkCursorRepository,
    private readonly observer: SinkObserver,
  ) {
    this.logger = new Logger(`SinkDelivery:${cfg.name}`);
    this.lease = cursors.lease(cfg.name);
    this.backoffs = new ExponentialBackoff({ initialDelay: cfg.backoff.initialMs, maxDelay: cfg.backoff.maxMs });
    this.state = {
      ...{ name: cfg.name, type: cfg.type, delivering: false, deliveredSeq: 0, lagEvents: 0, lagSeconds: 0 },
      ...{ consecutiveFailures: 0, lastError: null, lastDeliveredAt: null },
    };
  }

  status(): SinkStatus {
    return { ...this.state };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops after the round in progress, gives the lease up and closes the connection. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.lease.release().catch(() => undefined);
    await this.transport.close().catch(() => undefined);
  }

  /** One round; resolves with the delay before the next (0: more is waiting). */
  async round(): Promise<number> {
    try {
      const delay = (await this.lease.hold()) ? await this.deliver() : await this.observe();
      if (this.state.consecutiveFailures > 0) this.logger.log(`delivery works again after ${this.state.consecutiveFailures} failed attempts`);
      this.state.consecutiveFailures = 0;
      this.state.lastError = null;
      this.backoff = undefined;
      return delay;
    } catch (err) {
      const reason = err instanceof SinkDeliveryError ? err.reason : 'internal';
      const message = err instanceof SinkDeliveryError ? err.message : `${(err as Error).name}: delivery failed`;
      this.observer.failed(this.cfg.name, reason);
      if (this.state.consecutiveFailures === 0) this.logger.warn(`delivery failed (${message}); retrying with backoff`);
      this.state.consecutiveFailures += 1;
      this.state.lastError = message;
      // A store failure may have broken the lease's connection: take it again next round.
      if (!(err instanceof SinkDeliveryError)) await this.lease.release().catch(() => undefined);
      // The lag keeps growing while the receiver is down: keep the figures current.
      await this.cursors
        .read(this.cfg.name)
        .then((c) => this.measure(c.lastSeq))
        .catch(() => undefined);
      this.backoff = this.backoff ? this.backoff.next(undefined) : this.backoffs.next();
      return this.backoff.duration;
    }
  }

  private async deliver(): Promise<number> {
    this.state.delivering = true;
    const cursor = await this.lease.cursor();
    const replay = this.transport.takeReplay();
    const after = Math.max(0, cursor.lastSeq - replay);
    const scanned = await this.scan({}, { limit: this.cfg.batchSize, afterSeq: after });
    const events = contiguousRun(after, scanned, this.gapOutlasted(after, scanned));
    if (events.length > 0) {
      const started = performance.now();
      await this.transport.send(events.map(presentEvent));
      const last = events[events.length - 1];
      await this.lease.advance(last.seq, last.hash);
      this.observer.delivered(this.cfg.name, events.filter((e) => e.seq > cursor.lastSeq).length, (performance.now() - started) / 1000);
      this.state.lastDeliveredAt = new Date().toISOString();
    }
    const delivered = Math.max(cursor.lastSeq, events.at(-1)?.seq ?? 0);
    await this.measure(delivered);
    return events.length === this.cfg.batchSize ? 0 : this.cfg.intervalMs;
  }

  /** A gap right after the cursor that lasts is events retention purged before they were delivered. */
  private gapOutlasted(after: number, scanned: readonly StoredEvent[]): boolean {
    if (after === 0 || scanned.length === 0 || scanned[0].seq === after + 1) {
      this.gapSince = undefined;
      return false;
    }
    this.gapSince ??= Date.now();
    if (Date.now() - this.gapSince < SINK_GAP_PATIENCE_MS) return false;
    this.logger.warn(`seq ${after + 1}..${scanned[0].seq - 1} never appeared (purged by retention?): delivering from ${scanned[0].seq}`);
    this.gapSince = undefined;
    return true;
  }

  private async observe(): Promise<number> {
    this.state.delivering = false;
    await this.measure((await this.cursors.read(this.cfg.name)).lastSeq);
    return this.cfg.intervalMs;
  }

  private async measure(deliveredSeq: number): Promise<void> {
    const backlog = await this.cursors.backlog(deliveredSeq);
    this.state.deliveredSeq = deliveredSeq;
    this.state.lagEvents = Math.max(0, backlog.head - deliveredSeq);
    this.state.lagSeconds = backlog.oldestWaiting ? Math.max(0, (backlog.now.getTime() - backlog.oldestWaiting.getTime()) / 1000) : 0;
    this.observer.lag(this.cfg.name, this.state.lagEvents, this.state.lagSeconds);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const round = this.round();
      this.running = round;
      void round.then((next) => this.schedule(next));
    }, delayMs);
    this.timer.unref();
  }
}
