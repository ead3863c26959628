import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { GatewayError } from '../common/gateway-error.js';

export const ADMIN_BODY_LIMIT = 64 * 1024;

/**
 * The gateway reads no bodies by default (`bodyParser: false`: /v1 streams them to Dify). The
 * admin API takes small JSON bodies: this reads and parses them for `/admin` only, with Dify's
 * error shape for the usual mistakes.
 */
@Injectable()
export class AdminJsonBodyMiddleware implements NestMiddleware {
  async use(req: Request & { body?: unknown }, _res: Response, next: NextFunction): Promise<void> {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      req.body = {};
      return next();
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      throw new GatewayError(415, 'unsupported_media_type', "The admin API takes 'application/json' bodies.");
    }
    let raw: Buffer;
    try {
      raw = await getRawBody(req, { limit: ADMIN_BODY_LIMIT });
    } catch (error) {
      if ((error as { type?: string }).type === 'entity.too.large') {
        throw new GatewayError(413, 'request_entity_too_large', `The JSON body is larger than ${ADMIN_BODY_LIMIT} bytes.`);
      }
      throw GatewayError.badRequest('The request body could not be read.', 'bad_request');
    }
    try {
      req.body = raw.length === 0 ? {} : (JSON.parse(raw.toString('utf8')) as unknown);
    } catch {
      throw GatewayError.badRequest('Invalid JSON payload received or JSON payload is empty.', 'bad_request');
    }
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw GatewayError.badRequest('The JSON body must be an object.', 'bad_request');
    }
    next();
  }
}
