import { Global, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AdminModule } from '../admin/admin.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { AUDIT_UPKEEP } from '../audit/write/audit-maintenance.js';
import { AuthModule } from '../auth/auth.module.js';
import { CommonModule } from '../common/common.module.js';
import { redactText } from '../common/redact.js';
import { GatewayConfigModule } from '../config/config.module.js';
import { configureGatewayConfig, gatewayConfig, type LogLevel } from '../config/gateway-config.js';
import { DatabaseModule } from '../database/database.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RedisModule } from '../redis/redis.module.js';
import type { CommandNeeds, GatewayContext } from './command.js';

/** The CLI is no gateway instance: it keeps no audit upkeep of its own (see AUDIT_UPKEEP). */
@Global()
@Module({ providers: [{ provide: AUDIT_UPKEEP, useValue: false }], exports: [AUDIT_UPKEEP] })
class CliProcessModule {}

/**
 * The gateway's own modules, as `AppModule` imports them, minus HTTP (no controllers are mounted
 * in an application context), Dify calls and the call pipeline: the CLI's services are the
 * server's, so the two cannot drift.
 */
@Module({
  imports: [GatewayConfigModule, CliProcessModule, CommonModule, MetricsModule, DatabaseModule, RedisModule, AuthModule, AuditModule, AdminModule],
})
export class CliModule {}

const ORDER: readonly LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

/**
 * Log lines on stderr (stdout is the command's output), masked. `LOG_LEVEL` as for the gateway,
 * except that `log` (the default) shows warnings and errors only: no boot lines before a result.
 */
export class CliLogger implements LoggerService {
  private readonly min: number;

  constructor(level: LogLevel) {
    this.min = Math.max(ORDER.indexOf(level), level === 'log' ? ORDER.indexOf('warn') : 0);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (ORDER.indexOf(level) < this.min) return;
    const context = typeof rest.at(-1) === 'string' ? ` [${String(rest.at(-1))}]` : '';
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    process.stderr.write(`${level}${context} ${redactText(text)}\n`);
  }
}

/** Validates what the command needs of the environment, then boots the modules (quietly). */
export async function openGatewayContext(needs: Exclude<CommandNeeds, 'none'>): Promise<GatewayContext> {
  configureGatewayConfig({ unused: needs === 'dify' ? [] : needs === 'redis' ? ['dify'] : ['dify', 'redis'] });
  const cfg = gatewayConfig(); // throws ConfigValidationError before anything opens
  return NestFactory.createApplicationContext(CliModule, { logger: new CliLogger(cfg.app.logLevel), abortOnError: false });
}
