import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Caller } from './caller.js';
import { CallerAuthService } from './caller-auth.service.js';
import type { Scope } from './scopes.js';

const REQUIRED_SCOPE = 'gateway:required-scope';

/** Marks a gateway endpoint (outside /v1) as needing a key with this scope. */
export const RequiresScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);

export type AuthenticatedRequest = Request & { caller?: Caller };

/** Authenticates the gateway key and checks the scope a handler declares with @RequiresScope. */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: CallerAuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, [context.getHandler(), context.getClass()]);
    if (!scope) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const caller = await this.auth.authenticate(req.headers.authorization);
    req.caller = caller; // set before the scope check: a refusal is recorded with the key that tried
    this.auth.requireScope(caller, scope);
    return true;
  }
}
