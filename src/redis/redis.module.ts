import { Global, Module } from '@nestjs/common';
import { RedisService } from './redis.service.js';

/** The shared Redis connection (optional: `REDIS_URL`). Global: any feature may inject it. */
@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
