import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { readSseEvents } from '../../simulator/sse-reader.js';
import { clearRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../support/redis.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const SLOW_ANSWER = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');

describe.each([
  ['in this process', {}],
  ['in Redis', { REDIS_URL: TEST_REDIS_URL }],
])('per-key limits, counted %s', (_where, redisEnv: Record<string, string>) => {
  let gw: TestGateway;
  let auditor: string;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    gw = await startTestGateway({
      simulator: { answer: SLOW_ANSWER, streamChunkDelayMs: 10 },
      env: { ...redisEnv, REDIS_KEY_PREFIX: prefix },
    });
    auditor = (await gw.createKey(['audit:read'], 'auditor')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    await clearRedisPrefix(prefix);
  });

  const chat = (key: string, extra: Record<string, unknown> = {}) =>
    request(gw.baseUrl)
      .post('/chat-messages')
      .set('Authorization', `Bearer ${key}`)
      .send({ inputs: {}, query: 'hi', user: 'u', ...extra });

  it('limits requests per minute with 429, Retry-After and RateLimit headers, and never sends the extra call', async () => {
    const { key, id } = await gw.createKeyWith({ name: 'rpm-3', scopes: ['chat'], limits: { requestsPerMinute: 3 } });
    const before = gw.sim.requests.length;
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await chat(key);
      expect(ok.status).toBe(200);
      expect(ok.headers['ratelimit-limit']).toBe('3');
      expect(ok.headers['x-ratelimit-limit']).toBe('3');
      expect(ok.headers['ratelimit-policy']).toBe('3;w=60');
      remaining.push(ok.headers['ratelimit-remaining']);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'rate_limited', status: 429 });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(gw.sim.requests.length - before).toBe(3);

    const events = await request(gw.origin).get(`/audit/events?caller=${id}&status=429`).set('Authorization', `Bearer ${auditor}`);
    expect(events.body.data[0]).toMatchObject({ type: 'call.finished', outcome: 'rejected', error_code: 'rate_limited' });
  });

  it('counts each key on its own; 0 means no limit', async () => {
    const limited = await gw.createKeyWith({ name: 'rpm-1', scopes: ['chat'], limits: { requestsPerMinute: 1 } });
    const free = await gw.createKeyWith({ name: 'rpm-none', scopes: ['chat'], limits: { requestsPerMinute: 0 } });
    expect((await chat(limited.key)).status).toBe(200);
    expect((await chat(limited.key)).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      const res = await chat(free.key);
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('limits concurrent streams, and frees the slot when a stream ends', async () => {
    const { key } = await gw.createKeyWith({ name: 'one-stream', scopes: ['chat'], limits: { concurrentStreams: 1 } });
    const first = await fetch(`${gw.baseUrl}/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'hi', user: 'u', response_mode: 'streaming' }),
    });
    expect(first.status).toBe(200);
    const second = await chat(key, { response_mode: 'streaming' });
    expect(second.status).toBe(429);
    expect(second.body.code).toBe('too_many_streams');
    expect(second.headers['retry-after']).toBe('2');
    expect((await chat(key)).status).toBe(200); // a blocking call is not a stream
    await readSseEvents(first.body as unknown as AsyncIterable<Uint8Array>);
    let again = 0;
    for (let i = 0; i < 20 && again !== 200; i++) {
      again = (await chat(key, { response_mode: 'streaming' })).status;
      if (again !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(again).toBe(200);
  });

  it('stops a key at its daily token budget, from the usage Dify reported', async () => {
    const { key } = await gw.createKeyWith({ name: 'budget', scopes: ['chat'], limits: { dailyTokens: 10 } });
    const first = await chat(key);
    expect(first.status).toBe(200);
    expect(first.body.metadata.usage.total_tokens).toBeGreaterThan(10);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('token_budget_exceeded');
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    expect(Math.abs(Number(refused.headers['retry-after']) - (midnight - now.getTime()) / 1000)).toBeLessThan(5);

    // Streams count too: the tokens of `message_end`.
    const streamer = await gw.createKeyWith({ name: 'budget-stream', scopes: ['chat'], limits: { dailyTokens: 10 } });
    const stream = await fetch(`${gw.baseUrl}/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${streamer.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'hi', user: 'u', response_mode: 'streaming' }),
    });
    await readSseEvents(stream.body as unknown as AsyncIterable<Uint8Array>);
    let status = 0;
    for (let i = 0; i < 20 && status !== 429; i++) {
      status = (await chat(streamer.key)).status;
      if (status !== 429) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(429);
  });
});

describe('per-key limits when Redis is unreachable', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { REDIS_URL: 'redis://127.0.0.1:1/0' } });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('lets calls through rather than failing them, and logs why', async () => {
    const { key } = await gw.createKeyWith({ name: 'rpm-1', scopes: ['chat'], limits: { requestsPerMinute: 1, concurrentStreams: 1, dailyTokens: 1 } });
    for (let i = 0; i < 3; i++) {
      const res = await request(gw.baseUrl).post('/chat-messages').set('Authorization', `Bearer ${key}`).send({ inputs: {}, query: 'hi', user: 'u' });
      expect(res.status).toBe(200);
    }
    const log = gw.output.text();
    expect(log).toContain('redis not reachable within');
    expect(log).toContain('rate limit not enforced, Redis failed');
  });
});
