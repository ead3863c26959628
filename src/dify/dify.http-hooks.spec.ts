import { describe, expect, it } from '@jest/globals';
import type { AxiosError } from 'axios';
import { backoffDelay, parseDifyBody, retryAfterMs } from './dify.http-hooks.js';

const policy = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
const withRetryAfter = (value: string) => ({ response: { headers: { 'retry-after': value } } }) as unknown as AxiosError;

describe('retry timing', () => {
  it('keeps full-jitter backoff under the exponential ceiling and the cap', () => {
    for (let i = 0; i < 200; i++) {
      expect(backoffDelay(1, undefined, policy)).toBeLessThanOrEqual(100);
      expect(backoffDelay(3, undefined, policy)).toBeLessThanOrEqual(400);
      expect(backoffDelay(10, undefined, policy)).toBeLessThanOrEqual(1000);
    }
  });

  it('honours Retry-After in seconds and as an HTTP date, capped', () => {
    expect(retryAfterMs(withRetryAfter('2'))).toBe(2000);
    const inThree = new Date(Date.now() + 3000).toUTCString();
    expect(retryAfterMs(withRetryAfter(inThree))).toBeGreaterThan(1000);
    expect(retryAfterMs(withRetryAfter('soon'))).toBe(0);
    expect(backoffDelay(1, withRetryAfter('2'), policy)).toBe(2000);
    expect(backoffDelay(1, withRetryAfter('60'), policy)).toBe(5000);
  });

  it('parses only Dify-shaped error bodies', () => {
    expect(parseDifyBody(Buffer.from('{"code":"too_many_requests","message":"m","status":429}'))).toEqual({ code: 'too_many_requests', message: 'm' });
    expect(parseDifyBody(Buffer.from('<html>502 Bad Gateway</html>'))).toBeUndefined();
    expect(parseDifyBody(Buffer.from('{"error":"x"}'))).toBeUndefined();
  });
});
