import 'reflect-metadata';
import { type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { RedactingLogger } from './common/redacting.logger.js';
import { describeConfig } from './config/describe-config.js';
import { gatewayConfig } from './config/gateway-config.js';

const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

/**
 * Builds the gateway application exactly as production runs it. Tests call this too, so
 * that they exercise the same filters, pipes, middleware and body handling.
 */
export async function createGatewayApp(): Promise<INestApplication> {
  const cfg = gatewayConfig(); // validates the whole environment before anything starts
  const logger = new RedactingLogger('Gateway', {
    json: cfg.app.logJson,
    colors: false,
    logLevels: LEVELS.slice(0, LEVELS.indexOf(cfg.app.logLevel) + 1),
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger,
    // Bodies stay unread until a route row says how to read them: multipart streams to Dify
    // byte for byte, JSON is parsed and checked by the Dify use case.
    bodyParser: false,
  });
  app.set('trust proxy', cfg.app.trustProxy);
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  Logger.log(describeConfig(cfg), 'Config');
  return app;
}
