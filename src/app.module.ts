import { type MiddlewareConsumer, Module, type NestModule, ValidationPipe, type ValidationError } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AdminModule } from './admin/admin.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CommonModule } from './common/common.module.js';
import { DrainMiddleware } from './common/drain.middleware.js';
import { gatewayLoggerModule } from './common/logging.js';
import { GatewayError } from './common/gateway-error.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { RequestIdMiddleware } from './common/request-id.middleware.js';
import { GatewayConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { DifyModule } from './dify/dify.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RedisModule } from './redis/redis.module.js';

/** DTOs nest a level or two; deeper validation errors add nothing a caller needs to read. */
const MAX_MESSAGE_DEPTH = 8;

@Module({
  imports: [
    GatewayConfigModule,
    gatewayLoggerModule(),
    CommonModule,
    MetricsModule,
    DatabaseModule,
    RedisModule,
    AuthModule,
    AuditModule,
    AdminModule,
    DifyModule,
    HealthModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
    {
      provide: APP_PIPE,
      useFactory: () =>
        new ValidationPipe({
          transform: true,
          whitelist: true,
          forbidNonWhitelisted: true,
          exceptionFactory: (errors) => GatewayError.badRequest(validationMessages(errors).join('; ') || 'invalid request'),
        }),
    },
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware, DrainMiddleware).forRoutes('*');
  }
}

/** Every constraint message, nested objects included (`limits.requestsPerMinute must ...`), to a bounded depth. */
function validationMessages(errors: ValidationError[], path = '', depth = 0): string[] {
  if (depth > MAX_MESSAGE_DEPTH) return [];
  return errors.flatMap((e) => {
    const prefix = path ? `${path}.` : '';
    const own = Object.values(e.constraints ?? {}).map((m) => (path ? `${prefix}${m}` : m));
    return [...own, ...validationMessages(e.children ?? [], `${prefix}${e.property}`, depth + 1)];
  });
}
