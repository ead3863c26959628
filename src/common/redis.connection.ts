import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Redis } from 'ioredis';
import { redisConfig } from '../config/redis.config.js';

/**
 * The one place the Redis client is created: set when `REDIS_URL` is configured, for state that
 * all replicas share. A command waits at most 2 s (also while connecting) and is tried once
 * more after a reconnect, so a Redis outage turns into a clear error instead of requests piling up.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnection.name);
  readonly client?: Redis;

  constructor(@Inject(redisConfig.KEY) cfg: ConfigType<typeof redisConfig>) {
    if (!cfg.url) return;
    this.client = new Redis(cfg.url.reveal(), {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 2_000,
    });
    // ioredis errors carry the host, never the password; they are logged as codes only.
    this.client.on('error', (error: NodeJS.ErrnoException) => this.logger.warn({ event: 'redis_error', code: error.code ?? error.name }));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
