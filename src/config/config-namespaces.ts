import { registerAs } from '@nestjs/config';
import type { SinksConfig } from './audit-sinks.js';
import {
  gatewayConfig,
  type AppConfig,
  type AuditConfig,
  type DatabaseConfig,
  type DifyConfig,
  type IdempotencyConfig,
  type KeysConfig,
  type RedisConfig,
  type TracingConfig,
} from './gateway-config.js';

/*
 * The typed namespaces consumers inject, each a slice of the one validated `gatewayConfig()`:
 * `@Inject(difyConfig.KEY) cfg: ConfigType<typeof difyConfig>`. A new namespace goes here and
 * into CONFIG_NAMESPACES.
 */
export const appConfig = registerAs('app', (): AppConfig => gatewayConfig().app);
export const difyConfig = registerAs('dify', (): DifyConfig => gatewayConfig().dify);
export const databaseConfig = registerAs('database', (): DatabaseConfig => gatewayConfig().database);
export const auditConfig = registerAs('audit', (): AuditConfig => gatewayConfig().audit);
export const idempotencyConfig = registerAs('idempotency', (): IdempotencyConfig => gatewayConfig().idempotency);
export const keysConfig = registerAs('keys', (): KeysConfig => gatewayConfig().keys);
export const redisConfig = registerAs('redis', (): RedisConfig => gatewayConfig().redis);
export const tracingConfig = registerAs('tracing', (): TracingConfig => gatewayConfig().tracing);
export const sinksConfig = registerAs('sinks', (): SinksConfig => gatewayConfig().sinks);

export const CONFIG_NAMESPACES = [appConfig, difyConfig, databaseConfig, auditConfig, idempotencyConfig, keysConfig, redisConfig, tracingConfig, sinksConfig];
