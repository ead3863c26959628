import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  bulkhead,
  BulkheadRejectedError,
  circuitBreaker,
  CircuitState,
  handleWhenResult,
  SamplingBreaker,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { GatewaySignals } from '../common/gateway-signals.js';
import { difyConfig } from '../config/config-namespaces.js';
import { MetricsService, type BreakerStateName } from '../metrics/metrics.service.js';

/** Thrown (before anything is sent) when an app's circuit is open or its one probe is out. */
export class CircuitOpenError extends Error {
  constructor(readonly retryAfterMs: number) {
    super('circuit open');
    this.name = 'CircuitOpenError';
  }
}

/** Thrown when an app already has its maximum of concurrent calls. */
export class BulkheadFullError extends Error {
  constructor(readonly limit: number) {
    super('bulkhead full');
    this.name = 'BulkheadFullError';
  }
}

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

/** An attempt's outcome (see attempt-loop.ts) that counts against the app's availability. */
const countsAgainstApp = (outcome: unknown): boolean => (outcome as { countsAgainstApp?: unknown } | undefined)?.countsAgainstApp === true;

/**
 * The protections of one Dify app: a circuit breaker over its attempts (cockatiel's sampling
 * breaker: failure ratio over a sliding window, with a minimum volume; it judges the outcomes
 * the attempt loop's sender returns, never exceptions) and a bulkhead over its
 * calls (cockatiel, no queue). Half-open lets exactly one probe through; every other call is
 * refused at once, never queued behind the probe.
 */
export class AppGuard {
  private readonly logger = new Logger('DifyResilience');
  private readonly breaker?: CircuitBreakerPolicy;
  private readonly bulkhead: BulkheadPolicy;
  private openedAt = 0;
  private probing = false;

  constructor(
    readonly app: string,
    private readonly cfg: ConfigType<typeof difyConfig>,
    private readonly metrics: MetricsService,
    private readonly signals?: GatewaySignals,
  ) {
    const { failureRatio, windowMs, minCalls, openMs } = cfg.breaker;
    if (failureRatio > 0) {
      this.breaker = circuitBreaker(handleWhenResult(countsAgainstApp), {
        halfOpenAfter: openMs,
        breaker: new SamplingBreaker({ threshold: failureRatio, duration: windowMs, minimumRps: minCalls / (windowMs / 1000) }),
      });
      this.breaker.onBreak(() => (this.openedAt = Date.now()));
      this.breaker.onStateChange((state) => {
        const name = STATE_NAMES[state];
        this.metrics.breaker(app, name, true);
        this.signals?.emit({ kind: 'breaker.state', app, state: name });
        const log = { event: 'dify_breaker', app, state: name };
        if (name === 'open') this.logger.warn(log);
        else this.logger.log(log);
      });
    }
    this.metrics.breaker(app, 'closed', false);
    this.bulkhead = bulkhead(cfg.maxConcurrentCalls, 0);
  }

  state(): BreakerStateName {
    return this.breaker ? STATE_NAMES[this.breaker.state] : 'closed';
  }

  /** Runs one attempt through the breaker; throws CircuitOpenError without calling `attempt` when open. */
  async attempt<T>(attempt: () => Promise<T>): Promise<T> {
    const breaker = this.breaker;
    if (!breaker) return attempt();
    const state = breaker.state;
    const openFor = this.openedAt + this.cfg.breaker.openMs - Date.now();
    if (state === CircuitState.Open && openFor > 0) throw new CircuitOpenError(openFor);
    if (state !== CircuitState.Closed && this.probing) throw new CircuitOpenError(1000);
    const probe = state !== CircuitState.Closed;
    if (probe) this.probing = true;
    try {
      return await breaker.execute(attempt);
    } catch (error) {
      if (error instanceof Error && error.name === 'BrokenCircuitError') throw new CircuitOpenError(Math.max(1000, openFor));
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** Takes a call slot; the returned function gives it back (idempotent). Throws BulkheadFullError. */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const taken = new Promise<void>((resolveTaken, rejectTaken) => {
      this.bulkhead
        .execute(
          () =>
            new Promise<void>((done) => {
              release = () => done();
              resolveTaken();
            }),
        )
        .then(() => this.metrics.inflightCalls(this.app, this.cfg.maxConcurrentCalls - this.bulkhead.executionSlots))
        .catch((error: unknown) => rejectTaken(error instanceof BulkheadRejectedError ? new BulkheadFullError(this.cfg.maxConcurrentCalls) : error));
    });
    await taken;
    this.metrics.inflightCalls(this.app, this.cfg.maxConcurrentCalls - this.bulkhead.executionSlots);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  }
}

/** One AppGuard per configured Dify app alias. */
@Injectable()
export class DifyResilience {
  private readonly guards = new Map<string, AppGuard>();

  constructor(
    @Inject(difyConfig.KEY) private readonly cfg: ConfigType<typeof difyConfig>,
    private readonly metrics: MetricsService,
    @Optional() private readonly signals?: GatewaySignals,
  ) {}

  guard(app: string): AppGuard {
    let guard = this.guards.get(app);
    if (!guard) {
      guard = new AppGuard(app, this.cfg, this.metrics, this.signals);
      this.guards.set(app, guard);
    }
    return guard;
  }
}
