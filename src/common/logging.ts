import { IncomingMessage, ServerResponse } from 'node:http';
import { Logger as PinoNestLogger, LoggerModule, PinoLogger, type Params } from 'nestjs-pino';
import type { Options } from 'pino-http';
import { type DynamicModule, RequestMethod } from '@nestjs/common';
import { appConfig } from '../config/config-namespaces.js';
import type { AppConfig, LogLevel } from '../config/gateway-config.js';
import { redact, redactText } from './redact.js';
import { assignRequestId } from './request-id.middleware.js';

const PINO_LEVELS: Record<LogLevel, string> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };
/** /v1 calls are logged once, by the use case (`dify_call`), with route, caller, outcome; probes and scrapes not at all. */
const NOT_ACCESS_LOGGED = /^\/(?:v1|live|ready|metrics)(?:[/?]|$)/;

/** An Error as a log field: its type, message and stack, masked. */
function errorField(error: Error): Record<string, string> {
  return { type: error.name, message: redactText(error.message), ...(error.stack ? { stack: redactText(error.stack) } : {}) };
}

/** What an access line says of a request: method and path, never the query string, headers or body. */
export function serializeRequest(req: IncomingMessage): { method: string; path: string } {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return { method: req.method ?? '', path: redactText(url.split('?')[0] ?? '').slice(0, 2048) };
}

/** What an access line says of a response: its status. */
export function serializeResponse(res: ServerResponse): { status: number } {
  return { status: res.statusCode };
}

/** Framework objects become their serialized form here, so that nothing below walks into them. */
function logField(value: unknown): unknown {
  if (value instanceof Error) return errorField(value);
  if (value instanceof IncomingMessage) return serializeRequest(value);
  if (value instanceof ServerResponse) return serializeResponse(value);
  return value;
}

/** Every log object goes through the one masking helper (keys and values), errors included. */
export function maskLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[key] = logField(value);
  return redact(out);
}

/** LOG_FORMAT=text: one readable line per entry, same fields. */
function textDestination(): { write(line: string): void } {
  return {
    write(line: string) {
      try {
        const { time, level, msg, context, requestId, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.entries(rest)
          .filter(([k]) => k !== 'pid' && k !== 'hostname')
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const head = `${new Date(Number(time)).toISOString()} ${String(level).toUpperCase()} [${String(context ?? '-')}]`;
        process.stdout.write(`${head}${requestId ? ` (${String(requestId)})` : ''} ${msg ?? ''} ${extra}\n`);
      } catch {
        process.stdout.write(line);
      }
    },
  };
}

/**
 * pino-http options: JSON lines on stdout, the request id on every line logged while a request
 * is handled (`requestId`), everything masked by `redact()`/`redactText()` before it is written,
 * and an access line per request outside /v1 with method, path (no query string) and status.
 */
export function pinoHttpOptions(cfg: Pick<AppConfig, 'logLevel' | 'logJson'>): Options {
  return {
    level: PINO_LEVELS[cfg.logLevel],
    stream: cfg.logJson ? process.stdout : textDestination(),
    base: { pid: process.pid },
    timestamp: () => `,"time":${Date.now()}`,
    messageKey: 'msg',
    genReqId: (req: IncomingMessage, res: ServerResponse) => assignRequestId(req, res),
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    // The access line names the request itself (the request logger is quiet: no `req` binding).
    customSuccessObject: (req, _res, fields: Record<string, unknown>) => ({ req, ...fields }),
    customErrorObject: (req, _res, _error, fields: Record<string, unknown>) => ({ req, ...fields }),
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'warn' : 'info'),
    autoLogging: { ignore: (req) => NOT_ACCESS_LOGGED.test(req.url ?? '') },
    // `formatters.log` runs before serializers and has already turned req/res/err into plain,
    // masked fields (`logField`); pino-http's own wrappers would read the raw objects again.
    wrapSerializers: false,
    serializers: { req: logField, res: logField, err: logField },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => maskLogObject(object),
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg: unknown) => (typeof arg === 'string' ? redactText(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
}

export function loggerParams(cfg: Pick<AppConfig, 'logLevel' | 'logJson'>): Params {
  return { pinoHttp: pinoHttpOptions(cfg) };
}

/** The Nest logger for the whole application (boot included), writing through the same pino root. */
export function createAppLogger(cfg: Pick<AppConfig, 'logLevel' | 'logJson'>): PinoNestLogger {
  const params = loggerParams(cfg);
  return new PinoNestLogger(new PinoLogger(params), params);
}

/**
 * /v1 calls skip pino-http's middleware (a child logger, listeners and an access line decision on
 * every call): the call pipeline writes their one line itself and gives each call its request-id
 * logging context (`PinoLogger.runInContext` in `CallPipeline.run`, src/call/call.pipeline.ts).
 */
export const NOT_THROUGH_PINO_HTTP = [{ method: RequestMethod.ALL, path: 'v1{/*path}' }];

/** nestjs-pino's module (request-scoped loggers, the pino-http middleware), configured from `appConfig`. */
export function gatewayLoggerModule(): DynamicModule {
  return LoggerModule.forRootAsync({ inject: [appConfig.KEY], useFactory: (cfg: AppConfig) => ({ ...loggerParams(cfg), exclude: NOT_THROUGH_PINO_HTTP }) });
}
