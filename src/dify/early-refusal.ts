import type { NextFunction, Request, Response } from 'express';
import { RefusalAuditor } from '../audit/refusal-auditor.js';
import { CallerAuthService, REFUSAL_MESSAGES } from '../auth/caller-auth.service.js';
import { assignRequestId } from '../common/request-id.middleware.js';
import { matchRoute } from './route-matcher.js';

const COUNTED = Symbol('refusalCounted');
type Counted = Request & { [COUNTED]?: boolean };

/** Whether the early check already counted this request's refusal (and let it through to be recorded). */
export function refusalCounted(req: Request): boolean {
  return (req as Counted)[COUNTED] === true;
}

/**
 * The cheap 401 for a flood without a valid key, before Express routing, Nest, the access log and
 * the proxy: a /v1 call whose key is refused for certain without I/O (none, malformed, failed
 * checksum, known unknown) and whose source has used up its refusal budget is held back a second
 * and answered from here (counted in `auth.refused`, no row of its own). Within the budget, or
 * when in doubt, the call takes the usual path, which records it.
 */
export function earlyRefusal(auth: CallerAuthService, refusals: RefusalAuditor) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = req.originalUrl ?? req.url;
    if (!url.startsWith('/v1/')) return next();
    const reason = auth.certainRefusal(req.headers.authorization);
    if (!reason) return next();
    const q = url.indexOf('?');
    if (matchRoute(req.method, (q === -1 ? url : url.slice(0, q)).slice(3)).kind !== 'matched') return next();
    void refusals.refuseUnauthenticated(req, reason).then((admitted) => {
      if (admitted) {
        (req as Counted)[COUNTED] = true;
        return next();
      }
      if (res.headersSent || res.destroyed) return;
      const requestId = assignRequestId(req, res);
      const body = JSON.stringify({ code: 'unauthorized', message: REFUSAL_MESSAGES[reason], status: 401, request_id: requestId });
      res.writeHead(401, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'www-authenticate': 'Bearer realm="api"',
      });
      res.end(body);
    });
  };
}
