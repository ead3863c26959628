import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { requestIdOf } from '../common/request-id.middleware.js';
import type { Caller as CallerKey } from './caller.js';
import type { AuthenticatedRequest } from './scope.guard.js';

/** Who is acting in a gateway endpoint: the key ScopeGuard authenticated, and the request. */
export interface Actor {
  requestId: string;
  keyId: string;
  name: string;
  /** What the key holds: an admin can hand out no more (src/admin/key-grant.ts). */
  holds: CallerKey;
}

/** The actor behind a request that passed ScopeGuard (a handler under `@RequiresScope`). */
export function actorOf(req: AuthenticatedRequest): Actor {
  const caller = req.caller;
  // Only a route without @RequiresScope gets here without a key: a wiring mistake, a 500.
  if (!caller) throw new Error(`${req.method} ${req.path} reached @Caller() without an authenticated key (no @RequiresScope?)`);
  return { requestId: requestIdOf(req), keyId: caller.keyId, name: caller.name, holds: caller };
}

/**
 * `@Caller() actor: Actor` hands a controller the authenticated key (immich's `@Auth()`), so no
 * controller reads `req.caller` itself.
 */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Actor =>
  actorOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);
