import { afterAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { clearRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../../test/support/redis.js';
import { Secret } from '../config/secret.js';
import { RedisService } from './redis.service.js';

const until = async (check: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('RedisService', () => {
  const prefix = testRedisPrefix();
  afterAll(() => clearRedisPrefix(prefix));

  it('is off without a URL', async () => {
    const off = new RedisService({ keyPrefix: 'x:' });
    expect(off.enabled).toBe(false);
    expect(await off.ready()).toBe(false);
    expect(await off.publish('c', 'm')).toBe(false);
    off.subscribe('c', () => undefined);
    await off.onModuleDestroy();
  });

  it('delivers messages, subscribes again after a lost connection and says so', async () => {
    const a = new RedisService({ url: new Secret(TEST_REDIS_URL), keyPrefix: prefix });
    const b = new RedisService({ url: new Secret(TEST_REDIS_URL), keyPrefix: prefix });
    try {
      await Promise.all([a.ready(), b.ready()]);
      const received: string[] = [];
      let resubscribed = 0;
      b.onResubscribed(() => resubscribed++);
      b.subscribe(b.key('channel'), (m) => received.push(m));
      await until(() => resubscribed === 1);
      expect(await a.publish(a.key('channel'), 'one')).toBe(true);
      await until(() => received.length === 1);

      (b as unknown as { subscriber: Redis }).subscriber.disconnect(true); // as if the network dropped
      await until(() => resubscribed === 2);
      await a.publish(a.key('channel'), 'two');
      await until(() => received.length === 2);
      expect(received).toEqual(['one', 'two']);
    } finally {
      await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
    }
  });
});
