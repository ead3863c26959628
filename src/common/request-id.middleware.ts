import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { redactText } from './redact.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KEY = Symbol('requestId');

type WithRequestId = IncomingMessage & { [KEY]?: string };

/**
 * Gives a request its id, once: the caller's `x-request-id` when it is sane (and holds nothing the
 * masking helper would hide: it is written to every log line and audit row), else a UUID. The id
 * is echoed in the `x-request-id` response header.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const existing = (req as WithRequestId)[KEY];
  if (existing) return existing;
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) && redactText(incoming) === incoming ? incoming : randomUUID();
  (req as WithRequestId)[KEY] = id;
  if (!res.headersSent) res.setHeader('x-request-id', id);
  return id;
}

/** Gives every request an id (see `assignRequestId`) and echoes it back. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(req: WithRequestId, res: ServerResponse, next: () => void): void {
    assignRequestId(req, res);
    next();
  }
}

export function requestIdOf(req: IncomingMessage): string {
  return (req as WithRequestId)[KEY] ?? 'unknown';
}
