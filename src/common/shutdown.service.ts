import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/** After the drain period, how long abandoned calls get to write their audit rows. */
const SETTLE_MS = 5_000;

/**
 * Graceful shutdown. `drain()` (called on SIGTERM) turns `/ready` to 503 and refuses new calls at
 * once, lets the calls in flight (streams included) finish within the drain period, then cuts the
 * rest (their streams end with an `error` event and their Dify tasks are stopped) and waits for
 * them to write their audit rows.
 */
@Injectable()
export class ShutdownService {
  private readonly logger = new Logger(ShutdownService.name);
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly deadline = new AbortController();
  private drainingSince?: number;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Runs one call, counted as in flight; `shutdownSignal` fires when the drain period is over. */
  track<T>(call: (shutdownSignal: AbortSignal) => Promise<T>): Promise<T> {
    const running = call(this.deadline.signal);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return running;
  }

  /** Starts draining and resolves when every call in flight is over (or cut after `drainMs`). */
  async drain(drainMs: number): Promise<{ finished: number; cut: number; ms: number }> {
    this.drainingSince ??= Date.now();
    const started = this.drainingSince;
    const before = this.inFlight.size;
    this.logger.log({ event: 'shutdown_drain_started', inFlight: before, drainMs });
    const allDone = () => Promise.all([...this.inFlight]);
    const timedOut = await Promise.race([allDone().then(() => false), sleep(drainMs, true, { ref: false })]);
    const cut = timedOut ? this.inFlight.size : 0;
    if (timedOut) {
      this.logger.warn({ event: 'shutdown_drain_expired', cut });
      this.deadline.abort();
      await Promise.race([allDone(), sleep(SETTLE_MS, undefined, { ref: false })]);
    }
    const ms = Date.now() - started;
    this.logger.log({ event: 'shutdown_drain_finished', finished: before - cut, cut, ms });
    return { finished: before - cut, cut, ms };
  }
}
