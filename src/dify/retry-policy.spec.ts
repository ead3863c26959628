import { describe, expect, it } from '@jest/globals';
import { backoffDelay, decideRetry, parseRetryAfter, retryAfterSeconds, type AttemptFailure } from './retry-policy.js';

const policy = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
const LOTS = 60_000;
const fail = (over: Partial<AttemptFailure>): AttemptFailure => ({ retryClass: 'unsafe', sent: true, streamedBody: false, cancelled: false, ...over });

describe('decideRetry', () => {
  it.each<[string, Partial<AttemptFailure>, boolean, string]>([
    ['GET 502', { retryClass: 'idempotent', status: 502 }, true, 'status_502'],
    ['GET 504', { retryClass: 'idempotent', status: 504 }, true, 'status_504'],
    ['GET 500', { retryClass: 'idempotent', status: 500 }, false, 'status_500'],
    ['GET reset after sending', { retryClass: 'idempotent', networkCode: 'ECONNRESET' }, true, 'network'],
    ['POST 503', { status: 503 }, true, 'status_503'],
    ['POST 429 too_many_requests', { status: 429, difyCode: 'too_many_requests' }, true, 'status_429'],
    ['POST 429 rate_limit_error (a quota)', { status: 429, difyCode: 'rate_limit_error' }, false, 'quota'],
    ['GET 429 rate_limit_error (a quota)', { retryClass: 'idempotent', status: 429, difyCode: 'rate_limit_error' }, false, 'quota'],
    ['POST 502', { status: 502 }, false, 'status_502'],
    ['POST 504', { status: 504 }, false, 'status_504'],
    ['POST 500', { status: 500 }, false, 'status_500'],
    ['POST refused before sending', { networkCode: 'ECONNREFUSED', sent: false }, true, 'not_sent'],
    ['POST connect timeout', { networkCode: 'ECONNECTTIMEOUT', sent: false }, true, 'not_sent'],
    ['POST reset after sending', { networkCode: 'ECONNRESET' }, false, 'outcome_unknown'],
    ['POST our deadline', { cancelled: true }, false, 'cancelled'],
    ['upload refused (body already streamed)', { networkCode: 'ECONNREFUSED', sent: false, streamedBody: true }, false, 'streamed_body'],
  ])('%s', (_name, failure, retry, reason) => {
    const decision = decideRetry(fail(failure), 0, policy, LOTS);
    expect(decision.retry).toBe(retry);
    expect(decision.reason).toBe(reason);
  });

  it('stops after the configured number of retries', () => {
    expect(decideRetry(fail({ status: 503 }), 2, policy, LOTS)).toEqual({ retry: false, reason: 'exhausted' });
  });

  it('waits at least Retry-After, and answers at once when it is above the cap or the time left', () => {
    const d = decideRetry(fail({ status: 429, retryAfterMs: 2000 }), 0, policy, LOTS);
    expect(d).toEqual({ retry: true, delayMs: 2000, reason: 'status_429' });
    expect(decideRetry(fail({ status: 429, retryAfterMs: 6000 }), 0, policy, LOTS)).toEqual({ retry: false, reason: 'retry_after_too_long' });
    expect(decideRetry(fail({ status: 429, retryAfterMs: 2000 }), 0, policy, 1500)).toEqual({ retry: false, reason: 'deadline' });
    expect(decideRetry(fail({ status: 503 }), 0, policy, 50, () => 0.99)).toEqual({ retry: false, reason: 'deadline' });
  });
});

describe('retry timing', () => {
  it('keeps full-jitter backoff under the exponential ceiling and the cap', () => {
    for (let i = 0; i < 200; i++) {
      expect(backoffDelay(1, policy)).toBeLessThan(100);
      expect(backoffDelay(3, policy)).toBeLessThan(400);
      expect(backoffDelay(10, policy)).toBeLessThan(1000);
    }
    expect(backoffDelay(10, policy, () => 0)).toBe(0);
  });

  it('reads Retry-After in seconds and as an HTTP date', () => {
    const now = Date.parse('2026-11-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 00:00:00 GMT', now + 5000)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(retryAfterSeconds(1500)).toBe('2');
    expect(retryAfterSeconds(0)).toBe('1');
  });
});
