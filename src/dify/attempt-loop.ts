import { CircuitOpenError } from './dify.resilience.js';
import { decideRetry, type AttemptFailure, type RetryDecision, type RetryPolicy } from './retry-policy.js';

/** What one attempt came to. A failed attempt says what the retry policy and the breaker need. */
export type AttemptOutcome<R, E> =
  | { ok: true; value: R; label: string }
  | {
      ok: false;
      failure: AttemptFailure;
      /** Counts against the app's availability in its circuit breaker (5xx, network, our timeout). */
      countsAgainstApp: boolean;
      /** What the caller is told if this is the last attempt. */
      error: E;
      /** Metric label of the attempt: the status, 'network', 'cancelled'... */
      label: string;
      /** Frees what the attempt holds (a response body) when it is repeated. */
      discard?: () => void;
    };

/** The circuit breaker the attempts run through; it throws CircuitOpenError without running one. */
export interface AttemptBreaker {
  attempt<T>(run: () => Promise<T>): Promise<T>;
}

/** Time, injected so that the loop's specs run without waiting. */
export interface AttemptClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` fires. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Calls `fire` after `ms`; the returned function cancels it. */
  timer(ms: number, fire: () => void): () => void;
}

export const realClock: AttemptClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
  timer: (ms, fire) => {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};

export interface AttemptLoopOptions {
  policy: RetryPolicy;
  breaker: AttemptBreaker;
  /** Time for the answer to begin, over all attempts and waits: the call's one deadline. */
  deadlineMs: number;
  /** Called when the deadline passes: it must abort the attempt in flight (and `signal`). */
  onDeadline: () => void;
  /** The call's signal (caller gone, shutdown, deadline): it ends a wait between attempts. */
  signal: AbortSignal;
  clock?: AttemptClock;
  random?: () => number;
  onAttempt?: (label: string, seconds: number) => void;
  onRetry?: (reason: string) => void;
}

export type AttemptLoopResult<R, E> =
  | { ok: true; value: R; attempts: number }
  /** The last attempt failed and was not repeated, for `decision.reason`. */
  | { ok: false; end: 'failed'; error: E; decision: RetryDecision; attempts: number }
  /** The breaker refused the next attempt; nothing more was sent. */
  | { ok: false; end: 'circuit_open'; retryAfterMs: number; attempts: number }
  /** The call's signal fired while waiting to repeat; nothing more was sent. */
  | { ok: false; end: 'cancelled'; attempts: number };

/**
 * The one place where a call's attempts are made: each through the app's circuit breaker, each
 * failure judged by `decideRetry` (what may be repeated, after how long), every wait honouring
 * Retry-After, all within one deadline for the answer to begin. `send` makes one attempt and
 * never throws for an upstream failure; it returns it.
 */
export async function runAttempts<R, E>(send: () => Promise<AttemptOutcome<R, E>>, options: AttemptLoopOptions): Promise<AttemptLoopResult<R, E>> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.deadlineMs;
  const cancelDeadline = clock.timer(options.deadlineMs, options.onDeadline);
  try {
    for (let attempts = 0; ;) {
      const startedAt = clock.now();
      let outcome: AttemptOutcome<R, E>;
      try {
        outcome = await options.breaker.attempt(send);
      } catch (error) {
        if (!(error instanceof CircuitOpenError)) throw error;
        options.onAttempt?.('circuit_open', 0);
        return { ok: false, end: 'circuit_open', retryAfterMs: error.retryAfterMs, attempts };
      }
      attempts += 1;
      options.onAttempt?.(outcome.label, (clock.now() - startedAt) / 1000);
      if (outcome.ok) return { ok: true, value: outcome.value, attempts };

      const decision = decideRetry(outcome.failure, attempts - 1, options.policy, deadline - clock.now(), options.random);
      if (!decision.retry) return { ok: false, end: 'failed', error: outcome.error, decision, attempts };
      options.onRetry?.(decision.reason);
      outcome.discard?.();
      await clock.sleep(decision.delayMs, options.signal);
      if (options.signal.aborted) return { ok: false, end: 'cancelled', attempts };
    }
  } finally {
    cancelDeadline();
  }
}
