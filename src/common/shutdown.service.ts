import { Injectable, Logger } from '@nestjs/common';
import { setMaxListeners } from 'node:events';
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
  private running = 0;
  /** Waiting for `running` to reach 0 (only while draining). */
  private idleWaiters: Array<() => void> = [];
  private readonly deadline = new AbortController();
  private drainingSince?: number;

  constructor() {
    // Every call in flight listens to the one drain deadline: dozens at once is normal, not a leak.
    setMaxListeners(0, this.deadline.signal);
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get inFlightCount(): number {
    return this.running;
  }

  /** Runs one call, counted as in flight; `shutdownSignal` fires when the drain period is over. */
  track<T>(call: (shutdownSignal: AbortSignal) => Promise<T>): Promise<T> {
    this.running++;
    let result: Promise<T>;
    try {
      result = call(this.deadline.signal);
    } catch (error) {
      this.settled();
      throw error;
    }
    // A counter and one reaction per call: this runs on every request.
    result.then(this.settled, this.settled);
    return result;
  }

  private readonly settled = (): void => {
    if (--this.running > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  };

  private allDone(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts draining and resolves when every call in flight is over (or cut after `drainMs`). */
  async drain(drainMs: number): Promise<{ finished: number; cut: number; ms: number }> {
    this.drainingSince ??= Date.now();
    const started = this.drainingSince;
    const before = this.running;
    this.logger.log({ event: 'shutdown_drain_started', inFlight: before, drainMs });
    const timedOut = await Promise.race([this.allDone().then(() => false), sleep(drainMs, true, { ref: false })]);
    const cut = timedOut ? this.running : 0;
    if (timedOut) {
      this.logger.warn({ event: 'shutdown_drain_expired', cut });
      this.deadline.abort();
      await Promise.race([this.allDone(), sleep(SETTLE_MS, undefined, { ref: false })]);
    }
    const ms = Date.now() - started;
    this.logger.log({ event: 'shutdown_drain_finished', finished: before - cut, cut, ms });
    return { finished: before - cut, cut, ms };
  }
}
