/**
 * The attempt loop, one rule a case, with an injected sender and clock (no waiting). The specs
 * that need real sockets (a stream that began, the pool, Retry-After on the wire) are in
 * upstream-attempt.spec.ts.
 */
import { describe, expect, it } from '@jest/globals';
import type { DifyConfig } from '../config/gateway-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { runAttempts, type AttemptBreaker, type AttemptClock, type AttemptLoopOptions, type AttemptOutcome } from './attempt-loop.js';
import { AppGuard, CircuitOpenError } from './dify.resilience.js';
import type { AttemptFailure } from './retry-policy.js';

type Outcome = AttemptOutcome<string, string>;
const policy = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
const ok: Outcome = { ok: true, value: 'answer', label: '200' };
const fail = (failure: Partial<AttemptFailure>, countsAgainstApp = true): Outcome => ({
  ok: false,
  failure: { retryClass: 'idempotent', sent: true, streamedBody: false, cancelled: false, ...failure },
  countsAgainstApp,
  error: `failure ${failure.status ?? failure.networkCode ?? ''}`.trim(),
  label: String(failure.status ?? 'network'),
});

/** A clock whose sleeps pass at once (recorded) and whose timers fire when the test says. */
function fakeClock() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const timers: { at: number; fire: () => void; cancelled: boolean }[] = [];
  const clock: AttemptClock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    timer: (ms, fire) => {
      const timer = { at: now + ms, fire, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  };
  return { clock, sleeps, timers, advance: (ms: number) => (now += ms) };
}

const openBreaker: AttemptBreaker = { attempt: (run) => run() };

/** Runs the loop over a script of outcomes (the last one repeats), counting the sends. */
async function run(script: Outcome[], over: Partial<AttemptLoopOptions> = {}) {
  const time = fakeClock();
  let sends = 0;
  const retries: string[] = [];
  const controller = new AbortController();
  const result = await runAttempts(async () => script[Math.min(sends++, script.length - 1)]!, {
    policy,
    breaker: openBreaker,
    deadlineMs: 60_000,
    onDeadline: () => controller.abort(),
    signal: controller.signal,
    clock: time.clock,
    random: () => 0.5,
    onRetry: (reason) => retries.push(reason),
    ...over,
  });
  return { result, sends, retries, ...time };
}

describe('runAttempts: what is repeated', () => {
  it('returns the first answer that begins, after one attempt', async () => {
    const { result, sends } = await run([ok]);
    expect(result).toEqual({ ok: true, value: 'answer', attempts: 1 });
    expect(sends).toBe(1);
  });

  it.each([502, 503, 504, 429])('repeats a read after %i, then returns its answer', async (status) => {
    const { result, retries } = await run([fail({ status, difyCode: 'too_many_requests' }), ok]);
    expect(result).toEqual({ ok: true, value: 'answer', attempts: 2 });
    expect(retries).toEqual([`status_${status}`]);
  });

  it('repeats a read after a network error', async () => {
    const { result } = await run([fail({ networkCode: 'ECONNRESET' }), ok]);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it("does not repeat a 500, and ends with that attempt's error and the reason", async () => {
    const { result, sends } = await run([fail({ status: 500 }), ok]);
    expect(result).toEqual({ ok: false, end: 'failed', error: 'failure 500', decision: { retry: false, reason: 'status_500' }, attempts: 1 });
    expect(sends).toBe(1);
  });

  it('never repeats a POST that may have run (reset after it was sent)', async () => {
    const { result, sends } = await run([fail({ retryClass: 'unsafe', networkCode: 'ECONNRESET' }), ok]);
    expect(result).toMatchObject({ ok: false, end: 'failed', decision: { reason: 'outcome_unknown' } });
    expect(sends).toBe(1);
  });

  it.each([502, 504])('never repeats a POST after %i (it may have run)', async (status) => {
    const { result, sends } = await run([fail({ retryClass: 'unsafe', status }), ok]);
    expect(result).toMatchObject({ ok: false, decision: { reason: `status_${status}` } });
    expect(sends).toBe(1);
  });

  it('repeats a POST that provably never left (connection refused)', async () => {
    const { result } = await run([fail({ retryClass: 'unsafe', networkCode: 'ECONNREFUSED', sent: false }), ok]);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('never repeats an upload whose body was streamed', async () => {
    const { result, sends } = await run([fail({ retryClass: 'unsafe', networkCode: 'ECONNREFUSED', sent: false, streamedBody: true }), ok]);
    expect(result).toMatchObject({ ok: false, decision: { reason: 'streamed_body' } });
    expect(sends).toBe(1);
  });

  it('never repeats when our own pool was full: it fails at once, without a wait', async () => {
    const { result, sends, sleeps } = await run([fail({ networkCode: 'EPOOLFULL', sent: false, poolFull: true }, false), ok]);
    expect(result).toMatchObject({ ok: false, decision: { reason: 'pool_full' }, attempts: 1 });
    expect(sends).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('stops after DIFY_MAX_RETRIES retries: 1 + maxRetries attempts', async () => {
    const { result, sends } = await run([fail({ status: 503 })]);
    expect(result).toMatchObject({ ok: false, decision: { reason: 'exhausted' }, attempts: 3 });
    expect(sends).toBe(3);
  });

  it('frees what a repeated attempt holds (its response body) before the next one', async () => {
    let discarded = 0;
    const first = { ...fail({ status: 503 }), discard: () => discarded++ } as Outcome;
    await run([first, ok]);
    expect(discarded).toBe(1);
  });
});

describe('runAttempts: waits and the deadline', () => {
  it('waits with full-jitter backoff under a doubling ceiling', async () => {
    const { sleeps } = await run([fail({ status: 503 })], { random: () => 0.5 });
    expect(sleeps).toEqual([50, 100]); // half of 100, then half of 200
  });

  it("waits at least Dify's Retry-After", async () => {
    const { sleeps, result } = await run([fail({ status: 429, difyCode: 'too_many_requests', retryAfterMs: 3000 }), ok]);
    expect(sleeps).toEqual([3000]);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('answers at once when Retry-After is above DIFY_RETRY_AFTER_MAX_MS', async () => {
    const { sleeps, result } = await run([fail({ status: 429, difyCode: 'too_many_requests', retryAfterMs: 6000 }), ok]);
    expect(sleeps).toEqual([]);
    expect(result).toMatchObject({ ok: false, decision: { reason: 'retry_after_too_long' } });
  });

  it('does not start a wait that would outlast the deadline', async () => {
    const { sleeps, result } = await run([fail({ status: 429, difyCode: 'too_many_requests', retryAfterMs: 3000 }), ok], { deadlineMs: 2000 });
    expect(sleeps).toEqual([]);
    expect(result).toMatchObject({ ok: false, decision: { reason: 'deadline' } });
  });

  it('arms one deadline timer for all attempts and cancels it once the loop ends', async () => {
    const { timers } = await run([fail({ status: 503 }), fail({ status: 503 }), ok], { deadlineMs: 9000 });
    expect(timers).toHaveLength(1);
    expect(timers[0]).toMatchObject({ at: 1_000_000 + 9000, cancelled: true });
  });

  it('the deadline timer aborts the attempt in flight', async () => {
    const time = fakeClock();
    const controller = new AbortController();
    const result = await runAttempts<string, string>(
      () =>
        new Promise((resolve) => {
          controller.signal.addEventListener('abort', () => resolve(fail({ cancelled: true })));
          time.timers[0]!.fire(); // the deadline passes while Dify is silent
        }),
      { policy, breaker: openBreaker, deadlineMs: 5000, onDeadline: () => controller.abort(), signal: controller.signal, clock: time.clock },
    );
    expect(result).toMatchObject({ ok: false, end: 'failed', decision: { reason: 'cancelled' }, attempts: 1 });
  });

  it('ends without another attempt when the call is cancelled during a wait', async () => {
    const controller = new AbortController();
    const time = fakeClock();
    let sends = 0;
    const result = await runAttempts<string, string>(async () => (sends++, fail({ status: 503 })), {
      policy,
      breaker: openBreaker,
      deadlineMs: 60_000,
      onDeadline: () => undefined,
      signal: controller.signal,
      clock: { ...time.clock, sleep: async () => controller.abort() }, // the caller leaves meanwhile
    });
    expect(result).toEqual({ ok: false, end: 'cancelled', attempts: 1 });
    expect(sends).toBe(1);
  });
});

describe('runAttempts: the circuit breaker', () => {
  it('ends at once when the breaker refuses an attempt, counting only the attempts sent', async () => {
    let calls = 0;
    const breaker: AttemptBreaker = {
      attempt: (attempt) => (calls++ === 0 ? attempt() : Promise.reject(new CircuitOpenError(4000))),
    };
    const { result, sends } = await run([fail({ status: 503 }), ok], { breaker });
    expect(result).toEqual({ ok: false, end: 'circuit_open', retryAfterMs: 4000, attempts: 1 });
    expect(sends).toBe(1);
  });

  it('opens a real AppGuard after failures that count against the app, and not after those that do not', async () => {
    const cfg = { breaker: { failureRatio: 0.5, windowMs: 10_000, minCalls: 2, openMs: 60_000 }, maxConcurrentCalls: 10 } as DifyConfig;
    const guard = new AppGuard('app', cfg, new MetricsService());
    const once = { ...policy, maxRetries: 0 };
    for (let i = 0; i < 4; i++) await run([fail({ status: 404 }, false)], { breaker: guard, policy: once });
    expect(guard.state()).toBe('closed');
    for (let i = 0; i < 8; i++) await run([fail({ status: 502 })], { breaker: guard, policy: once });
    expect(guard.state()).toBe('open');
    const { result, sends } = await run([ok], { breaker: guard });
    expect(result).toMatchObject({ ok: false, end: 'circuit_open', attempts: 0 });
    expect(sends).toBe(0);
  });
});
