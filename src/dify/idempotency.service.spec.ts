import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../common/gateway-error.js';
import { TEST_REDIS_URL, testRedisPrefix } from '../../test/support/redis.js';
import { RedisService } from '../redis/redis.service.js';
import { Secret } from '../config/secret.js';
import { DifyError } from './dify.errors.js';
import { IdempotencyService, provesNotDone } from './idempotency.service.js';

const dify = { timeouts: { maxCallMs: 60_000 } } as never;
const prefix = testRedisPrefix();
const redis = new RedisService({ url: new Secret(TEST_REDIS_URL), keyPrefix: prefix });
const noRedis = new RedisService({ keyPrefix: prefix });

// Like the gateway at boot (RedisService.onModuleInit): commands fail at once until connected.
beforeAll(async () => {
  expect(await redis.ready()).toBe(true);
});

afterAll(async () => {
  await redis.onModuleDestroy();
});

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe.each([
  ['memory', noRedis],
  ['redis', redis],
])('IdempotencyService (%s)', (_store, connection) => {
  const service = new IdempotencyService({ ttlMs: 60_000, maxKeys: 100 }, dify, connection);
  const key = () => `key-${randomUUID()}`;

  it('refuses the same key while in flight, then names the first request once it finished', async () => {
    const k = key();
    const claim = await service.claim(k, 'caller-a', 'req-1');
    expect((await refusal(service.claim(k, 'caller-a', 'req-2'))).code).toBe('idempotency_key_in_flight');
    await claim.finish({ status: 200, workNotDone: false });
    const reused = await refusal(service.claim(k, 'caller-a', 'req-3'));
    expect(reused.status).toBe(409);
    expect(reused.code).toBe('idempotency_key_reused');
    expect(reused.message).toContain('req-1');
    expect(reused.message).toContain('200');
    expect(reused.message).not.toContain(k);
  });

  it('scopes keys per caller and frees a key whose call did no work', async () => {
    const k = key();
    await service.claim(k, 'caller-a', 'req-1');
    await service.claim(k, 'caller-b', 'req-2'); // another caller: its own key
    const k2 = key();
    const claim = await service.claim(k2, 'caller-a', 'req-3');
    await claim.finish({ status: 503, workNotDone: true });
    await (await service.claim(k2, 'caller-a', 'req-4')).finish({ status: 200, workNotDone: false });
  });

  it('ignores requests without the header and refuses malformed keys', async () => {
    await (await service.claim(undefined, 'caller-a', 'req-1')).finish({ status: 200, workNotDone: false });
    expect((await refusal(service.claim('x'.repeat(256), 'caller-a', 'req-1'))).status).toBe(400);
    expect((await refusal(service.claim(['a', 'b'], 'caller-a', 'req-1'))).status).toBe(400);
  });
});

describe('IdempotencyService limits', () => {
  it('forgets the oldest finished keys beyond the cap, never one in flight', async () => {
    const service = new IdempotencyService({ ttlMs: 60_000, maxKeys: 100 }, dify, noRedis);
    await service.claim('in-flight', 'c', 'r0');
    for (let i = 0; i < 150; i++) await (await service.claim(`k${i}`, 'c', `r${i + 1}`)).finish({ status: 200, workNotDone: false });
    expect((await refusal(service.claim('in-flight', 'c', 'again'))).code).toBe('idempotency_key_in_flight');
    expect((await refusal(service.claim('k149', 'c', 'again'))).code).toBe('idempotency_key_reused');
    await service.claim('k0', 'c', 'again'); // forgotten
  });

  it('answers 503 when Redis does not answer', async () => {
    const down = new RedisService({ url: new Secret('redis://127.0.0.1:1/0'), keyPrefix: prefix });
    const service = new IdempotencyService({ ttlMs: 60_000, maxKeys: 100 }, dify, down);
    const error = await refusal(service.claim('k', 'c', 'r'));
    expect(error.status).toBe(503);
    expect(error.code).toBe('idempotency_unavailable');
    down.client?.disconnect();
  });
});

describe('provesNotDone', () => {
  const base = { method: 'POST', path: '/chat-messages', retryClass: 'unsafe' as const, attempts: 1, durationMs: 1 };
  it.each([
    [new DifyError({ ...base, kind: 'network', networkCode: 'ECONNREFUSED', mayHaveReachedDify: false }), true],
    [new DifyError({ ...base, kind: 'http', status: 429, difyCode: 'too_many_requests', mayHaveReachedDify: true }), true],
    [new DifyError({ ...base, kind: 'http', status: 503, mayHaveReachedDify: true }), true],
    [new DifyError({ ...base, kind: 'circuit_open', mayHaveReachedDify: false }), true],
    [new DifyError({ ...base, kind: 'network', networkCode: 'ECONNRESET', mayHaveReachedDify: true }), false],
    [new DifyError({ ...base, kind: 'timeout', mayHaveReachedDify: true }), false],
    [new DifyError({ ...base, kind: 'http', status: 500, mayHaveReachedDify: true }), false],
    [new GatewayError(429, 'too_many_requests', 'bulkhead'), true],
    [new GatewayError(502, 'dify_bad_response', 'garbled 200'), false],
  ])('%#', (error, expected) => {
    expect(provesNotDone(error)).toBe(expected);
  });
});
