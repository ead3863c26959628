import type { ThrottlerStorage } from '@nestjs/throttler';
import { randomBytes } from 'node:crypto';
import type { RedisService } from '../redis/redis.service.js';

/**
 * One atomic step of a sliding-window counter: a sorted set of hits scored by their expiry, so a
 * hit counts for exactly `ttl` ms, like @nestjs/throttler's own in-memory storage. A refused hit
 * is not counted (no block duration), or starts a block of `blockDuration` ms. Time is Redis's
 * own, so replicas with skewed clocks still share one window.
 * Returns {totalHits, msUntilASlotFrees, blocked, msUntilUnblocked}.
 */
const INCREMENT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])
if block > 0 then
  local left = redis.call('PTTL', KEYS[2])
  if left > 0 then return {limit + 1, left, 1, left} end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now + ttl, now .. '-' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ttl)
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {count + 1, tonumber(oldest[2]) - now, 0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) - now
if block > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', block)
  wait = block
end
return {count + 1, wait, 1, wait}
`;

/**
 * @nestjs/throttler's storage over Redis, so that a limit holds in total across every replica.
 * (`@nest-lab/throttler-storage-redis` peers on Nest 11 at most; this is the same contract in a
 * few lines over the gateway's one ioredis connection.)
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly redis: RedisService) {
    if (!redis.client) throw new Error('RedisThrottlerStorage needs REDIS_URL');
    redis.client.defineCommand('dgwThrottle', { numberOfKeys: 2, lua: INCREMENT });
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    const hits = this.redis.key('throttle', throttlerName, key);
    const client = this.redis.client as unknown as {
      dgwThrottle(k1: string, k2: string, ttl: number, limit: number, block: number, member: string): Promise<[number, number, number, number]>;
    };
    const [totalHits, untilFree, blocked, untilUnblocked] = await client.dgwThrottle(
      hits,
      `${hits}:blocked`,
      ttl,
      limit,
      blockDuration,
      randomBytes(6).toString('hex'),
    );
    return {
      totalHits,
      timeToExpire: Math.max(0, Math.ceil(untilFree / 1000)),
      isBlocked: blocked === 1,
      timeToBlockExpire: Math.max(0, Math.ceil(untilUnblocked / 1000)),
    };
  }
}
