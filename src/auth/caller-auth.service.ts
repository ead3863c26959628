import { Injectable } from '@nestjs/common';
import { GatewayError } from '../common/gateway-error.js';
import { hashApiKey, isWellFormedApiKey } from './api-key.js';
import { ApiKeyRepository } from './api-key.repository.js';
import type { Caller } from './caller.js';
import { isScope, type Scope } from './scopes.js';

/**
 * Authenticates a gateway key from the Authorization header and checks what it may do.
 * Messages say what is wrong with the request, never which keys exist.
 */
@Injectable()
export class CallerAuthService {
  constructor(private readonly keys: ApiKeyRepository) {}

  async authenticate(authorization: string | undefined): Promise<Caller> {
    const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? '');
    if (!match) throw GatewayError.unauthorized("Authorization header must be provided and start with 'Bearer'");
    if (match[1].toLowerCase() !== 'bearer') throw GatewayError.unauthorized("Authorization scheme must be 'Bearer'");
    const secret = match[2];
    if (!isWellFormedApiKey(secret)) {
      throw GatewayError.unauthorized('Access token is invalid: a gateway key starts with dgw_ (Dify keys are held by the gateway, not by callers).');
    }
    const record = await this.keys.findActiveByHash(hashApiKey(secret));
    if (!record) throw GatewayError.unauthorized('Access token is invalid');
    return { keyId: record.id, name: record.name, scopes: record.scopes.filter(isScope), apps: record.apps };
  }

  requireScope(caller: Caller, scope: Scope): void {
    if (!caller.scopes.includes(scope)) {
      throw GatewayError.forbidden(`This key lacks the '${scope}' scope needed for this endpoint.`);
    }
  }

  /** The Dify app a call goes to: the key's only app, for now (one app per key). */
  resolveApp(caller: Caller): string {
    if (caller.apps.length === 0) throw GatewayError.forbidden('This key is not bound to any Dify app.');
    return caller.apps[0];
  }
}
