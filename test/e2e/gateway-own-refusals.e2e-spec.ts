import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { clearRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../support/redis.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const chat = { inputs: {}, query: 'hi', user: 'u1', response_mode: 'blocking' };

async function finishedEvent(gw: TestGateway, auditor: string, requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const res = await request(gw.origin).get(`/audit/events?request_id=${requestId}&type=call.finished`).set('Authorization', `Bearer ${auditor}`);
    if (res.body.data?.length > 0) return res.body.data[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no call.finished for ${requestId}`);
}

describe('audit query bounds', () => {
  let gw: TestGateway;
  let auditor: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    auditor = (await gw.createKey(['audit:read'], 'auditor')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  it.each([
    '/audit/verify?from_seq=99999999999999999999',
    '/audit/verify?to_seq=1e30',
    '/audit/verify?from_seq=9007199254740992',
    '/audit/events?limit=99999999999999999999',
    '/audit/events?status=99999999999999999999',
  ])('answers 400, not 500, for an out-of-range number: %s', async (path) => {
    const res = await request(gw.origin).get(path).set('Authorization', `Bearer ${auditor}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_param', status: 400 });
  });

  it('still verifies within the bounds', async () => {
    const res = await request(gw.origin).get('/audit/verify?from_seq=1&to_seq=9007199254740991').set('Authorization', `Bearer ${auditor}`);
    expect(res.status).toBe(200);
  });
});

describe('calls the gateway itself refused', () => {
  let gw: TestGateway;
  let team: { id: string; key: string };
  let auditor: string;

  beforeAll(async () => {
    // Redis is configured but down: an Idempotency-Key cannot be checked.
    gw = await startTestGateway({ env: { REDIS_URL: 'redis://127.0.0.1:1/0' } });
    team = await gw.createKey(['chat'], 'team-a');
    auditor = (await gw.createKey(['audit:read'], 'auditor')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('records 503 idempotency_unavailable as rejected, not upstream_error', async () => {
    const res = await request(gw.baseUrl)
      .post('/chat-messages')
      .set({ Authorization: `Bearer ${team.key}`, 'idempotency-key': 'order-1', 'x-request-id': 'idem-down' })
      .send(chat);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('idempotency_unavailable');
    expect(await finishedEvent(gw, auditor, 'idem-down')).toMatchObject({ status: 503, outcome: 'rejected', error_code: 'idempotency_unavailable' });
  });
});

describe('Idempotency-Key in Redis', () => {
  let gw: TestGateway;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    gw = await startTestGateway({ env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix } });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    await clearRedisPrefix(prefix);
  });

  it('is stored under REDIS_KEY_PREFIX', async () => {
    const team = await gw.createKey(['chat'], 'team-a');
    const res = await request(gw.baseUrl)
      .post('/chat-messages')
      .set({ Authorization: `Bearer ${team.key}`, 'idempotency-key': 'order-7' })
      .send(chat);
    expect(res.status).toBe(200);
    const id = createHash('sha256').update(team.id).update('\0').update('order-7').digest('base64url');
    const redis = new Redis(TEST_REDIS_URL);
    try {
      let value: string | null = null;
      for (let i = 0; i < 40 && !value?.startsWith('done|'); i++) {
        value = await redis.get(`${prefix}idem:${id}`);
        if (!value?.startsWith('done|')) await new Promise((r) => setTimeout(r, 50));
      }
      expect(value).toMatch(/^done\|/);
    } finally {
      redis.disconnect();
    }
  });
});
