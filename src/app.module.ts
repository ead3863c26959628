import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AdminModule } from './admin/admin.module.js';
import { AlertsModule } from './alerts/alerts.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CallModule } from './call/call.module.js';
import { CommonModule } from './common/common.module.js';
import { ConsoleModule } from './console/console.module.js';
import { DrainMiddleware } from './health/drain.middleware.js';
import { gatewayLoggerModule } from './common/logging.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { RequestIdMiddleware } from './common/request-id.middleware.js';
import { gatewayValidationPipe } from './common/validation.pipe.js';
import { GatewayConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { DifyModule } from './dify/dify.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OpenApiModule } from './openapi/openapi.module.js';
import { RedisModule } from './redis/redis.module.js';

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
    CallModule,
    HealthModule,
    ConsoleModule,
    OpenApiModule,
    AlertsModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
    { provide: APP_PIPE, useFactory: gatewayValidationPipe },
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware, DrainMiddleware).forRoutes('*');
  }
}
