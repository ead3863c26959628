import { Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { displayPrefix, generateApiKeySecret, hashApiKey } from './api-key.js';
import { ApiKeyRepository, type ApiKeyChanges, type ApiKeyLimits, type ApiKeyRecord } from './api-key.repository.js';
import { KeyEvents } from './key-events.js';
import { APP_SCOPES, isScope, SCOPES } from './scopes.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

export interface CreateKeyInput {
  name: string;
  /** Shorthand for `apps: [app]`. */
  app?: string;
  apps?: string[];
  scopes: string[];
  /** Knowledge base ids (UUIDs), or `['*']` for all. */
  datasets?: string[];
  /** Share a namespace to let several keys see the same conversations; default: the key's own. */
  namespace?: string;
  limits?: Partial<ApiKeyLimits>;
  expiresAt?: Date | null;
}

export type UpdateKeyInput = ApiKeyChanges;

export interface CreatedKey extends ApiKeyRecord {
  /** Shown once, at creation or rotation; only its hash is stored. */
  key: string;
}

export type KeyStatus = 'active' | 'expired' | 'revoked';

export const MAX_APPS_PER_KEY = 50;
export const MAX_DATASETS_PER_KEY = 1_000;
export const ALL_DATASETS = '*';
export const MAX_GRACE_SECONDS = 30 * 86_400;

const NAME_FORMAT = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
const ALIAS_FORMAT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** No `:`, so the namespace ends unambiguously where the caller's `user` begins. */
export const NAMESPACE_FORMAT = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIMIT_MAX = { requestsPerMinute: 1_000_000, concurrentStreams: 100_000, dailyTokens: 2_000_000_000 } as const;

export function keyStatus(record: ApiKeyRecord, now = new Date()): KeyStatus {
  if (record.revokedAt) return 'revoked';
  if (record.expiresAt && record.expiresAt <= now) return 'expired';
  return 'active';
}

/**
 * Creates, changes, rotates and revokes gateway keys: the use cases behind both the admin API and
 * the CLI. Every change that affects a running key is announced through `KeyEvents`, so every
 * replica drops its cached copy (within a second with Redis).
 */
@Injectable()
export class ApiKeyService {
  constructor(
    private readonly keys: ApiKeyRepository,
    @Optional() private readonly events?: KeyEvents,
  ) {}

  /** `knownApps`: the Dify app aliases configured now. */
  async create(input: CreateKeyInput, knownApps: string[]): Promise<CreatedKey> {
    checkName(input.name);
    const scopes = checkScopes(input.scopes);
    const apps = checkApps(input.apps ?? (input.app !== undefined ? [input.app] : []), knownApps);
    const appScopes = scopes.filter(isAppScope);
    if (apps.length === 0 && appScopes.length > 0) {
      throw GatewayErrors.invalidParam(`the scopes ${appScopes.join(', ')} need at least one app; configured apps: ${knownApps.join(', ')}.`);
    }
    const datasets = checkDatasets(input.datasets ?? []);
    if (input.namespace !== undefined && !NAMESPACE_FORMAT.test(input.namespace)) {
      throw GatewayErrors.invalidParam('namespace must be 1-32 lowercase letters, digits, dashes or underscores, starting with a letter or digit.');
    }
    const limits = checkLimits(input.limits ?? {});
    const expiresAt = checkExpiry(input.expiresAt);
    const key = generateApiKeySecret();
    const record = await this.keys.insert({
      id: randomUUID(),
      name: input.name,
      prefix: displayPrefix(key),
      hash: hashApiKey(key),
      scopes,
      apps,
      datasets,
      ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
      limits,
      expiresAt,
    });
    return { ...record, key };
  }

  /** Whether any key (revoked ones included: their data stays in Dify) has this namespace. */
  namespaceInUse(namespace: string): Promise<boolean> {
    return this.keys.namespaceInUse(namespace);
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  async get(id: string): Promise<ApiKeyRecord> {
    checkId(id);
    const record = await this.keys.findById(id);
    if (!record) throw GatewayErrors.notFound('No key with this id.');
    return record;
  }

  /** Changes name, scopes, apps, datasets, limits or expiry; the namespace never changes. */
  async update(id: string, changes: UpdateKeyInput, knownApps: string[]): Promise<ApiKeyRecord> {
    checkId(id);
    const current = await this.get(id);
    if (current.revokedAt) throw GatewayErrors.keyRevoked();
    const checked: ApiKeyChanges = {};
    if (changes.name !== undefined) checked.name = checkName(changes.name);
    if (changes.scopes !== undefined) checked.scopes = checkScopes(changes.scopes);
    // Apps a key already has stay acceptable even if their configuration is gone (to remove them).
    if (changes.apps !== undefined) checked.apps = checkApps(changes.apps, [...knownApps, ...current.apps]);
    if (changes.datasets !== undefined) checked.datasets = checkDatasets(changes.datasets);
    if (changes.limits !== undefined) checked.limits = checkLimits(changes.limits);
    if (changes.expiresAt !== undefined) checked.expiresAt = checkExpiry(changes.expiresAt);
    const scopes = checked.scopes ?? (current.scopes.filter(isScope) as string[]);
    const apps = checked.apps ?? current.apps;
    if (apps.length === 0 && scopes.some(isAppScope)) {
      throw GatewayErrors.invalidParam('a key with app scopes needs at least one app.');
    }
    const updated = await this.keys.update(id, checked);
    if (!updated) throw GatewayErrors.keyRevoked();
    await this.events?.changed(id);
    return updated;
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    checkId(id);
    const record = await this.keys.revoke(id);
    if (!record) throw GatewayErrors.notFound('No key with this id.');
    await this.events?.changed(id);
    return record;
  }

  /**
   * Issues a new secret. The old one keeps working for `graceSeconds` (0: it stops now), then
   * stops; a secret from an earlier rotation that is still in its grace period stops now.
   */
  async rotate(id: string, graceSeconds: number): Promise<CreatedKey> {
    checkId(id);
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
      throw GatewayErrors.invalidParam(`graceSeconds must be an integer from 0 to ${MAX_GRACE_SECONDS}.`);
    }
    const current = await this.get(id);
    if (current.revokedAt) throw GatewayErrors.keyRevoked();
    const key = generateApiKeySecret();
    const record = await this.keys.rotate(id, {
      prefix: displayPrefix(key),
      hash: hashApiKey(key),
      previousValidUntil: graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null,
    });
    if (!record) throw GatewayErrors.keyRevoked();
    await this.events?.changed(id);
    return { ...record, key };
  }
}

function isAppScope(scope: string): boolean {
  return (APP_SCOPES as readonly string[]).includes(scope);
}

function checkId(id: string): void {
  if (!UUID_FORMAT.test(id)) throw GatewayErrors.invalidParam('id must be a key id (a UUID).');
}

function checkName(name: string): string {
  if (typeof name !== 'string' || !NAME_FORMAT.test(name)) {
    throw GatewayErrors.invalidParam('name must be 1-64 letters, digits, spaces, dots, dashes or underscores.');
  }
  return name;
}

function checkScopes(scopes: string[]): string[] {
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) throw GatewayErrors.invalidParam(`unknown scopes: ${unknown.join(', ')}; known scopes: ${SCOPES.join(', ')}.`);
  if (scopes.length === 0) throw GatewayErrors.invalidParam('a key needs at least one scope.');
  return [...new Set(scopes)];
}

function checkApps(apps: string[], knownApps: string[]): string[] {
  if (apps.length > MAX_APPS_PER_KEY) throw GatewayErrors.invalidParam(`a key may be bound to at most ${MAX_APPS_PER_KEY} apps.`);
  for (const app of apps) {
    if (!ALIAS_FORMAT.test(app)) throw GatewayErrors.invalidParam('apps must be Dify app aliases such as "default".');
    if (!knownApps.includes(app)) throw GatewayErrors.invalidParam(`app '${app}' is not configured; configured apps: ${knownApps.join(', ')}.`);
  }
  return [...new Set(apps)];
}

function checkDatasets(datasets: string[]): string[] {
  if (datasets.length > MAX_DATASETS_PER_KEY) throw GatewayErrors.invalidParam(`a key may list at most ${MAX_DATASETS_PER_KEY} datasets.`);
  for (const id of datasets) {
    if (id !== ALL_DATASETS && !UUID_FORMAT.test(id)) throw GatewayErrors.invalidParam(`datasets must be knowledge base ids (UUIDs) or "${ALL_DATASETS}".`);
  }
  if (datasets.includes(ALL_DATASETS) && datasets.length > 1)
    throw GatewayErrors.invalidParam(`"${ALL_DATASETS}" already means every dataset; list nothing else.`);
  return [...new Set(datasets.map((d) => d.toLowerCase()))];
}

function checkLimits(limits: Partial<ApiKeyLimits>): Partial<ApiKeyLimits> {
  const out: Partial<ApiKeyLimits> = {};
  for (const name of Object.keys(LIMIT_MAX) as (keyof ApiKeyLimits)[]) {
    if (!(name in limits)) continue;
    const value = limits[name];
    if (value !== null && (!Number.isInteger(value) || (value as number) < 0 || (value as number) > LIMIT_MAX[name])) {
      throw GatewayErrors.invalidParam(`limits.${name} must be null (the gateway default), 0 (no limit) or an integer up to ${LIMIT_MAX[name]}.`);
    }
    out[name] = value ?? null;
  }
  return out;
}

function checkExpiry(expiresAt: Date | null | undefined): Date | null {
  if (expiresAt === undefined || expiresAt === null) return null;
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw GatewayErrors.invalidParam('expiresAt must be an ISO 8601 date-time.');
  if (expiresAt.getTime() <= Date.now()) throw GatewayErrors.invalidParam('expiresAt must be in the future (revoke a key to stop it now).');
  return expiresAt;
}
