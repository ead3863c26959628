import 'reflect-metadata';
import { type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { answerClientErrorsAsJson } from './common/client-error.js';
import { RefusalAuditor } from './audit/refusal-auditor.js';
import { CallerAuthService } from './auth/caller-auth.service.js';
import { ShutdownService } from './common/shutdown.service.js';
import { createAppLogger } from './common/logging.js';
import { QuietBootLogger } from './common/quiet-boot.logger.js';
import { describeConfig } from './config/describe-config.js';
import { gatewayConfig } from './config/gateway-config.js';
import { earlyRefusal } from './dify/early-refusal.js';
import { publishApiDocs } from './openapi/publish-api-docs.js';

/**
 * Builds the gateway application exactly as production runs it. Tests call this too, so
 * that they exercise the same filters, pipes, middleware and body handling.
 */
export async function createGatewayApp(): Promise<INestApplication> {
  const cfg = gatewayConfig(); // validates the whole environment before anything starts
  // Structured JSON lines through pino, masked, with the request id on every line of a request.
  const logger = createAppLogger(cfg.app);
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: new QuietBootLogger(logger),
    // Bodies stay unread until a route row says how to read them: multipart streams to Dify
    // byte for byte, JSON is parsed and checked by the Dify use case.
    bodyParser: false,
  });
  app.set('trust proxy', cfg.app.trustProxy);
  app.disable('x-powered-by');
  answerClientErrorsAsJson(app.getHttpServer());
  // Before every other middleware: a flood without a valid key costs as little as possible.
  app.use(earlyRefusal(app.get(CallerAuthService), app.get(RefusalAuditor)));
  publishApiDocs(app); // /docs-json: built from the controllers and the route table at its first read
  Logger.log(describeConfig(cfg), 'Config');
  return app;
}

/**
 * SIGTERM (and SIGINT): `/ready` turns 503 and new calls are refused at once; calls and streams
 * in flight get `SHUTDOWN_DRAIN_MS` to finish (then they are cut, their Dify tasks stopped, and
 * their audit rows written); then the application closes (its shutdown hooks run: database and
 * Redis connections) and the process exits 0. A second signal does not restart the sequence.
 */
export function exitGracefullyOnSignals(app: INestApplication, drainMs: number): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    Logger.log({ event: 'shutdown_signal', signal, drainMs }, 'Gateway');
    // If closing hangs well past the drain period, leave anyway (and say so with the exit code).
    setTimeout(() => {
      Logger.error({ event: 'shutdown_timeout' }, 'Gateway');
      process.exit(1);
    }, drainMs + 30_000).unref();
    void (async () => {
      await app.get(ShutdownService).drain(drainMs);
      await app.close();
      Logger.log({ event: 'shutdown_complete' }, 'Gateway');
      process.exit(0);
    })().catch((error: unknown) => {
      Logger.error({ event: 'shutdown_failed', error: error instanceof Error ? error.name : 'unknown' }, 'Gateway');
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
