import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { RedisService } from '../redis/redis.service.js';
import { CallerLimits, PER_KEY_THROTTLER, RATE_WINDOW_MS } from './caller-limits.service.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/**
 * Per-key limits. The throttler's storage is Redis with REDIS_URL (shared by every replica) and
 * @nestjs/throttler's in-memory storage without (this process only). No ThrottlerGuard: the
 * limits need the authenticated key, and a refused call must still be audited by the /v1 use case.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [RedisService],
      useFactory: (redis: RedisService) => ({
        throttlers: [{ name: PER_KEY_THROTTLER, ttl: RATE_WINDOW_MS, limit: 1 }],
        ...(redis.enabled ? { storage: new RedisThrottlerStorage(redis) } : {}),
      }),
    }),
  ],
  providers: [CallerLimits],
  exports: [CallerLimits],
})
export class LimitsModule {}
