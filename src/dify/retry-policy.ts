import type { RetryClass } from './dify.routes.js';

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

/** Failures that prove the request never left: nothing reached Dify, so any call may be repeated. */
export const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNECTTIMEOUT']);

/** What one failed attempt tells us, gathered by the axios hooks. */
export interface AttemptFailure {
  retryClass: RetryClass;
  /** Dify's status when it answered. */
  status?: number;
  difyCode?: string;
  /** Node/axios error code of a failure without an answer (ECONNRESET, ECONNREFUSED...). */
  networkCode?: string;
  /** Whether the request may have reached Dify: a connection to Dify was established. */
  sent: boolean;
  /** Dify's Retry-After, in ms. */
  retryAfterMs?: number;
  /** The request body is a stream (an upload) that cannot be sent a second time. */
  streamedBody: boolean;
  /** Our own abort: the deadline, the caller going away, shutdown. */
  cancelled: boolean;
  /** The gateway's own connection pool to Dify was full: nothing was sent, and waiting is not ours to do. */
  poolFull?: boolean;
}

export type RetryDecision = { retry: true; delayMs: number; reason: string } | { retry: false; reason: string };

/** The statuses that may be repeated, by retry class (README, "Errors"). */
const RETRYABLE_STATUS: Record<RetryClass, ReadonlySet<number>> = {
  idempotent: new Set([429, 502, 503, 504]),
  // A 503 or a 429 too_many_requests is answered before Dify starts any work.
  unsafe: new Set([429, 503]),
};

/**
 * Whether a failed attempt may be repeated, and after how long. `retriesDone` counts the retries
 * already made; `remainingMs` is what is left of the call's one deadline.
 *
 * - A read (`idempotent`) is repeated on network errors, 429 too_many_requests, 502, 503, 504.
 * - A call that may spend tokens or write (`unsafe`) is repeated only when the failure proves the
 *   work was not done: no connection was made, or Dify answered 429 too_many_requests or 503.
 * - Never a 429 rate_limit_error (a quota), never a streamed upload body, never after our abort,
 *   never when our own connection pool is full (that call fails fast, like the bulkhead).
 * - The delay is full-jitter exponential backoff, capped, and at least Dify's Retry-After. A
 *   Retry-After above the cap, or a delay that does not fit in the remaining deadline, ends the
 *   call at once (the caller gets the answer with Retry-After instead of a long wait).
 */
export function decideRetry(failure: AttemptFailure, retriesDone: number, policy: RetryPolicy, remainingMs: number, random = Math.random): RetryDecision {
  if (failure.cancelled) return { retry: false, reason: 'cancelled' };
  if (failure.poolFull) return { retry: false, reason: 'pool_full' };
  if (retriesDone >= policy.maxRetries) return { retry: false, reason: 'exhausted' };
  if (failure.streamedBody) return { retry: false, reason: 'streamed_body' };

  let reason: string;
  if (failure.status !== undefined) {
    if (!RETRYABLE_STATUS[failure.retryClass].has(failure.status)) return { retry: false, reason: `status_${failure.status}` };
    if (failure.status === 429 && failure.difyCode === 'rate_limit_error') return { retry: false, reason: 'quota' };
    reason = `status_${failure.status}`;
  } else if (!failure.sent) {
    reason = 'not_sent';
  } else if (failure.retryClass === 'idempotent') {
    reason = 'network';
  } else {
    return { retry: false, reason: 'outcome_unknown' };
  }

  const retryAfter = failure.retryAfterMs ?? 0;
  if (retryAfter > policy.maxRetryAfterMs) return { retry: false, reason: 'retry_after_too_long' };
  const delayMs = Math.max(backoffDelay(retriesDone + 1, policy, random), retryAfter);
  if (delayMs >= remainingMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs, reason };
}

/** Full jitter: a uniform delay below the capped exponential ceiling for this retry (1-based). */
export function backoffDelay(retryNumber: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The longest Retry-After the gateway repeats to its callers. Dify's own value passes through
 * up to it (a caller may wait longer than we do: DIFY_RETRY_AFTER_MAX_MS only bounds our wait);
 * beyond it the value is nonsense (`999999999999999999999`, a date in year 9999) and is clamped.
 */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

/**
 * A Retry-After header (delay-seconds or an HTTP date) in ms, clamped to
 * MAX_RETRY_AFTER_SECONDS; undefined when absent or unreadable.
 */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const text = header.trim();
  const ms = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.round(Math.min(MAX_RETRY_AFTER_SECONDS * 1000, Math.max(0, ms)));
}

/** A Retry-After value for our own answers: whole seconds, at least 1, at most MAX_RETRY_AFTER_SECONDS. */
export function retryAfterSeconds(ms: number | undefined): string {
  const seconds = Math.ceil((ms ?? 1000) / 1000);
  return String(Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Number.isFinite(seconds) ? seconds : MAX_RETRY_AFTER_SECONDS)));
}
