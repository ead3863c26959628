import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DatabaseUnavailableError } from '../database/database.errors.js';
import { GatewayError } from './gateway-error.js';
import { redactText } from './redact.js';
import { RefusalListeners } from './refusal-listeners.js';
import { drainBeforeAnswer } from './linger.js';
import { requestIdOf } from './request-id.middleware.js';
import { GatewayErrors } from './errors/gateway-errors.js';

const UNREAD_REFUSALS = new Set([401, 403, 429]);

/**
 * The one place errors become HTTP answers, everywhere in Dify's shape
 * `{ code, message, status, request_id }`. Unknown errors are a 500 with a generic message;
 * their details go to the log, masked.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(@Optional() private readonly refusals?: RefusalListeners) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const requestId = requestIdOf(req);
    if (isHealthReport(exception)) {
      // Terminus' own report (which checks failed) is what probes and operators read.
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const error = this.toGatewayError(exception, requestId);
    if (res.headersSent) {
      // A stream already began: nothing more can be said in HTTP terms.
      if (!res.writableEnded) res.end();
      return;
    }
    if (error.status >= 400 && error.status < 500 && error.status !== 499) {
      try {
        this.refusals?.notify(req, error);
      } catch (listenerError) {
        this.logger.error(`a refusal listener failed in request ${requestId}: ${(listenerError as Error).name}`);
      }
    }
    if (error.status === 499) {
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    const answer = (): void => {
      if (!res.headersSent)
        res.status(error.status).json({ code: error.code, message: redactText(error.message), status: error.status, request_id: requestId });
    };
    // A refusal can come before the caller has sent all its body; it is read first, so that the
    // caller hears it. Not for a caller that is unknown, not allowed or over its rate: those cost nothing.
    if (req.complete || UNREAD_REFUSALS.has(error.status)) answer();
    else void drainBeforeAnswer(req, res).then(answer);
  }

  private toGatewayError(exception: unknown, requestId: string): GatewayError {
    if (exception instanceof GatewayError) return exception;
    if (exception instanceof HttpException) return fromHttpException(exception);
    if (exception instanceof DatabaseUnavailableError) {
      this.logger.error(`database unavailable in request ${requestId}: ${exception.code}`);
      return GatewayErrors.auditUnavailable();
    }
    const err = exception as Error;
    this.logger.error(`unhandled error in request ${requestId}: ${err?.name}: ${redactText(String(err?.message))}`, redactText(String(err?.stack ?? '')));
    return GatewayErrors.internal();
  }
}

function isHealthReport(exception: unknown): exception is HttpException {
  if (!(exception instanceof HttpException) || exception.getStatus() !== 503) return false;
  const body = exception.getResponse();
  return typeof body === 'object' && body !== null && 'details' in body && (body as { status?: unknown }).status === 'error';
}

/** Nest's own exceptions (unknown routes, validation pipe, guards) in Dify's vocabulary. */
function fromHttpException(exception: HttpException): GatewayError {
  const status = exception.getStatus();
  const codes: Record<number, string> = {
    400: 'invalid_param',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    413: 'request_entity_too_large',
    415: 'unsupported_media_type',
    429: 'too_many_requests',
  };
  const response = exception.getResponse();
  const raw = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
  const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
  if (status === 404) return GatewayErrors.notFound();
  if (status >= 500) return GatewayErrors.fromStatus(status, 'internal_error', GatewayErrors.internal().message);
  return GatewayErrors.fromStatus(status, codes[status] ?? 'bad_request', message);
}
