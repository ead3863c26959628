import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis tests use (the CI machine's, or `TEST_REDIS_URL`). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/**
 * A fresh key prefix, so test files (parallel jest workers) and test runs sharing one Redis never
 * see each other's keys. The worker id only helps to tell whose keys are left over.
 */
export function testRedisPrefix(): string {
  return `gw-test-w${process.env.JEST_WORKER_ID ?? 0}-${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under `prefix` (call it in afterAll). */
export async function clearRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
