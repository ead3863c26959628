import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import getRawBody from 'raw-body';
import type { Observable } from 'rxjs';
import { MAX_JSON_DEPTH, parseJsonBody } from '../common/safe-json.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

export const ADMIN_BODY_LIMIT = 64 * 1024;
/** Admin bodies are a name, a few lists of scopes, apps and datasets, and limits. */
export const ADMIN_JSON_VALUES = 2_000;

/**
 * The gateway reads no bodies by default (`bodyParser: false`: /v1 streams them to Dify). The
 * admin API takes small JSON bodies: this reads and parses them for `/admin` only, with Dify's
 * error shape for the usual mistakes. An interceptor, not a middleware, because interceptors
 * run after the guards: a request without an admin key is answered 401/403 before a byte of its
 * body is read (Node discards the unread rest once the answer is sent).
 */
@Injectable()
export class AdminJsonBodyInterceptor implements NestInterceptor {
  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<Request & { body?: unknown }>();
    req.body = await readAdminBody(req);
    return next.handle();
  }
}

async function readAdminBody(req: Request): Promise<Record<string, unknown>> {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return {};
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    throw GatewayErrors.unsupportedMediaType("The admin API takes 'application/json' bodies.");
  }
  let raw: Buffer;
  try {
    raw = await getRawBody(req, { limit: ADMIN_BODY_LIMIT });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') {
      throw GatewayErrors.bodyTooLarge(ADMIN_BODY_LIMIT);
    }
    throw GatewayErrors.badRequest('The request body could not be read.');
  }
  if (raw.length === 0) return {};
  const body = parseJsonBody(raw, { maxDepth: MAX_JSON_DEPTH, maxValues: ADMIN_JSON_VALUES });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw GatewayErrors.badRequest('The JSON body must be an object.');
  }
  return body as Record<string, unknown>;
}
