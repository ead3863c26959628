import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { redactText } from './redact.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KEY = Symbol('requestId');

type WithRequestId = IncomingMessage & { [KEY]?: string };

/** Gives every request an id (the caller's `x-request-id` when it is sane) and echoes it back. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(req: WithRequestId, res: ServerResponse, next: () => void): void {
    const incoming = req.headers['x-request-id'];
    // A caller's own id is kept only when it is sane and could not be a secret pasted by mistake:
    // it is echoed, forwarded to Dify and stored in the audit trail.
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) && redactText(incoming) === incoming ? incoming : randomUUID();
    req[KEY] = id;
    res.setHeader('x-request-id', id);
    next();
  }
}

export function requestIdOf(req: IncomingMessage): string {
  return (req as WithRequestId)[KEY] ?? 'unknown';
}
