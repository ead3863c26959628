import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../common/gateway-error.js';
import { displayPrefix, generateApiKeySecret, hashApiKey } from './api-key.js';
import { ApiKeyRepository, type ApiKeyRecord } from './api-key.repository.js';
import { isScope, SCOPES } from './scopes.js';

export interface CreateKeyInput {
  name: string;
  app: string;
  scopes: string[];
}

export interface CreatedKey extends ApiKeyRecord {
  /** Shown once, at creation; only its hash is stored. */
  key: string;
}

const NAME_FORMAT = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
const ALIAS_FORMAT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Creates, lists and revokes gateway keys (used by the CLI; the admin API comes later). */
@Injectable()
export class ApiKeyService {
  constructor(private readonly keys: ApiKeyRepository) {}

  async create(input: CreateKeyInput, knownApps: string[]): Promise<CreatedKey> {
    if (!NAME_FORMAT.test(input.name)) throw GatewayError.badRequest('name must be 1-64 letters, digits, spaces, dots, dashes or underscores.');
    if (!ALIAS_FORMAT.test(input.app)) throw GatewayError.badRequest('app must be a Dify app alias such as "default".');
    if (!knownApps.includes(input.app)) throw GatewayError.badRequest(`app '${input.app}' is not configured; configured apps: ${knownApps.join(', ')}.`);
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length > 0) throw GatewayError.badRequest(`unknown scopes: ${unknown.join(', ')}; known scopes: ${SCOPES.join(', ')}.`);
    if (input.scopes.length === 0) throw GatewayError.badRequest('a key needs at least one scope.');
    const key = generateApiKeySecret();
    const record = await this.keys.insert({
      id: randomUUID(),
      name: input.name,
      prefix: displayPrefix(key),
      hash: hashApiKey(key),
      scopes: [...new Set(input.scopes)],
      apps: [input.app],
    });
    return { ...record, key };
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw GatewayError.badRequest('id must be a key id (a UUID).');
    const record = await this.keys.revoke(id);
    if (!record) throw GatewayError.notFound('No key with this id.');
    return record;
  }
}
