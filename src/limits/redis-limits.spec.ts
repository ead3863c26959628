import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { clearRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../test/support/redis.js';
import { Secret } from '../config/secret.js';
import { RedisService } from '../redis/redis.service.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { StreamSlots } from './stream-slots.js';
import { TokenBudget, secondsUntilUtcMidnight, utcDay } from './token-budget.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('limits over Redis', () => {
  const prefix = testRedisPrefix();
  let redis: RedisService;

  beforeAll(async () => {
    redis = new RedisService({ url: new Secret(TEST_REDIS_URL), keyPrefix: prefix });
    expect(await redis.ready()).toBe(true);
  });
  afterAll(async () => {
    await redis.onModuleDestroy();
    await clearRedisPrefix(prefix);
  });

  it('counts like @nestjs/throttler’s own storage: refused hits do not count, a hit lasts ttl', async () => {
    const redisStorage = new RedisThrottlerStorage(redis);
    const memory = new ThrottlerStorageService();
    try {
      for (const storage of [redisStorage, memory]) {
        const results = [];
        for (let i = 0; i < 5; i++) results.push(await storage.increment('k', 400, 3, 0, 'rpm'));
        expect(results.map((r) => r.isBlocked)).toEqual([false, false, false, true, true]);
        expect(results.slice(0, 3).map((r) => r.totalHits)).toEqual([1, 2, 3]);
        expect(results[4].timeToBlockExpire).toBeGreaterThanOrEqual(1);
        await sleep(450);
        expect((await storage.increment('k', 400, 3, 0, 'rpm')).isBlocked).toBe(false);
      }
    } finally {
      memory.onApplicationShutdown();
    }
  });

  it('keeps throttlers and keys apart, and blocks for blockDuration when asked', async () => {
    const storage = new RedisThrottlerStorage(redis);
    expect((await storage.increment('a', 60_000, 1, 0, 'x')).isBlocked).toBe(false);
    expect((await storage.increment('b', 60_000, 1, 0, 'x')).isBlocked).toBe(false);
    expect((await storage.increment('a', 60_000, 1, 0, 'y')).isBlocked).toBe(false);
    const blocked = await storage.increment('c', 60_000, 1, 2_000, 'x').then(() => storage.increment('c', 60_000, 1, 2_000, 'x'));
    expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 2 });
  });

  it('holds concurrent stream slots across instances, and a dead holder’s lease expires', async () => {
    const one = new StreamSlots(redis, 300);
    const two = new StreamSlots(redis, 300);
    const held = await one.acquire('key', 2);
    const second = await two.acquire('key', 2);
    expect(held && second).toBeTruthy();
    expect(await two.acquire('key', 2)).toBeUndefined();
    second!.release();
    const third = await one.acquire('key', 2);
    expect(third).toBeDefined();
    // A replica that died left a lease it no longer renews; a live one keeps its slot past the lease time.
    third!.release();
    await redis.client!.zadd(redis.key('streams', 'other'), Date.now() + 300, 'lease-of-a-dead-replica');
    expect(await two.acquire('other', 1)).toBeUndefined();
    await sleep(400);
    expect(await two.acquire('other', 1)).toBeDefined();
    expect(await two.acquire('key', 2)).toBeDefined(); // `held` was renewed: 2 held now
    expect(await two.acquire('key', 2)).toBeUndefined();
    held!.release();
  });

  it('counts tokens per key and UTC day', async () => {
    let now = Date.UTC(2026, 10, 28, 23, 59, 0);
    const budget = new TokenBudget(redis, () => now);
    await budget.add('k', 10);
    await budget.add('k', 5.4);
    await budget.add('k', -3);
    expect(await budget.used('k')).toBe(15);
    expect(await budget.used('other')).toBe(0);
    now += 120_000;
    expect(await budget.used('k')).toBe(0);
    expect(utcDay(now)).toBe('2026-11-29');
    expect(secondsUntilUtcMidnight(Date.UTC(2026, 10, 28, 23, 59, 0))).toBe(60);
  });
});
