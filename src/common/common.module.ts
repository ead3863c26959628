import { Global, Module } from '@nestjs/common';
import { RedisConnection } from './redis.connection.js';
import { ShutdownService } from './shutdown.service.js';

/** Process-wide services: the drain on shutdown and the shared Redis connection. */
@Global()
@Module({
  providers: [ShutdownService, RedisConnection],
  exports: [ShutdownService, RedisConnection],
})
export class CommonModule {}
