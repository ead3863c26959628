import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { GatewayError } from '../common/gateway-error.js';
import { keysConfig } from '../config/config-namespaces.js';
import { hashApiKey, hasValidChecksum, isWellFormedApiKey } from './api-key.js';
import { ApiKeyCache } from './api-key.cache.js';
import { ApiKeyRepository, type ApiKeyMatch, type ApiKeyRecord } from './api-key.repository.js';
import type { Caller } from './caller.js';
import { KeyEvents } from './key-events.js';
import { LastUsedTracker } from './last-used.tracker.js';
import { isScope, type Scope } from './scopes.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

/** The header a caller names the Dify app with, when its key is bound to several. */
export const APP_HEADER = 'x-gateway-app';

/** Why a header is refused, and what the caller is told (the same on the early and the usual path). */
export const REFUSAL_MESSAGES = {
  no_key: "Authorization header must be provided and start with 'Bearer'",
  bad_scheme: "Authorization scheme must be 'Bearer'",
  malformed_key: 'Access token is invalid: a gateway key starts with dgw_ (Dify keys are held by the gateway, not by callers).',
  bad_checksum: 'Access token is invalid',
  unknown_key: 'Access token is invalid',
} as const;

export type RefusalReason = keyof typeof REFUSAL_MESSAGES;

function refused(reason: RefusalReason): GatewayError {
  return GatewayErrors.unauthorized(REFUSAL_MESSAGES[reason]).because(reason);
}

/** What authentication adds to the caller: when the secret used stops working, if it does. */
export interface AuthenticatedCaller extends Caller {
  /** The key's expiry, or the end of the grace period of a rotated-away secret; whichever is first. */
  secretExpiresAt?: Date;
}

/**
 * Authenticates a gateway key from the Authorization header and checks what it may do. Lookups
 * are cached per replica for `KEY_CACHE_TTL_MS`; revocations, rotations and changes reach every
 * replica through `KeyEvents`. Expiry and grace periods are compared on every request, so a
 * cached key still stops on time. Messages say what is wrong, never which keys exist.
 */
@Injectable()
export class CallerAuthService {
  private readonly cache: ApiKeyCache;
  private readonly inFlight = new Map<string, Promise<ApiKeyMatch | null>>();
  /** Hashes of keys that existed at the first unchecksummed attempt: keys issued before checksums. */
  private legacy?: Promise<Set<string>>;
  private legacyLoaded?: Set<string>;

  constructor(
    private readonly keys: ApiKeyRepository,
    @Inject(keysConfig.KEY) private readonly cfg: ConfigType<typeof keysConfig>,
    private readonly lastUsed: LastUsedTracker,
    @Optional() events?: KeyEvents,
  ) {
    this.cache = new ApiKeyCache(cfg.cacheTtlMs);
    events?.onChanged((keyId) => this.invalidate(keyId));
  }

  async authenticate(authorization: string | undefined): Promise<AuthenticatedCaller> {
    const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? '');
    if (!match) throw refused('no_key');
    if (match[1].toLowerCase() !== 'bearer') throw refused('bad_scheme');
    const secret = match[2];
    if (!isWellFormedApiKey(secret)) throw refused('malformed_key');
    const hash = hashApiKey(secret);
    // A key that fails its checksum cannot have been issued (unless before checksums): no database read.
    if (!hasValidChecksum(secret) && !(await this.isLegacy(hash))) throw refused('bad_checksum');
    const found = await this.lookup(hash);
    if (!found) throw refused('unknown_key');
    const { record } = found;
    const now = Date.now();
    if (record.expiresAt && record.expiresAt.getTime() <= now) throw GatewayErrors.unauthorized('Access token has expired').because('expired_key');
    let secretExpiresAt = record.expiresAt ?? undefined;
    if (found.matched === 'previous') {
      const graceEnd = record.previousSecretExpiresAt;
      if (!graceEnd || graceEnd.getTime() <= now) throw GatewayErrors.unauthorized('Access token is invalid').because('grace_over');
      if (!secretExpiresAt || graceEnd < secretExpiresAt) secretExpiresAt = graceEnd;
    }
    this.lastUsed.touch(record.id);
    return { ...this.toCaller(record), ...(secretExpiresAt ? { secretExpiresAt } : {}) };
  }

  /**
   * Why `authenticate` would refuse this header, when that is certain without any I/O (no key, a
   * malformed one, a failed checksum, a key the cache knows is unknown); undefined otherwise.
   */
  certainRefusal(authorization: string | undefined): RefusalReason | undefined {
    const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? '');
    if (!match) return 'no_key';
    if (match[1].toLowerCase() !== 'bearer') return 'bad_scheme';
    if (!isWellFormedApiKey(match[2])) return 'malformed_key';
    const hash = hashApiKey(match[2]);
    if (!hasValidChecksum(match[2])) return this.legacyLoaded && !this.legacyLoaded.has(hash) ? 'bad_checksum' : undefined;
    return this.cache.get(hash) === null ? 'unknown_key' : undefined;
  }

  requireScope(caller: Caller, scope: Scope): void {
    if (!caller.scopes.includes(scope)) {
      throw GatewayErrors.forbidden(`This key lacks the '${scope}' scope needed for this endpoint.`);
    }
  }

  /**
   * The Dify app a call goes to: the one named by the `X-Gateway-App` header, which must be one
   * of the key's apps; without the header, the key's only app.
   */
  resolveApp(caller: Caller, requested?: string | string[]): string {
    const header = Array.isArray(requested) ? requested[0] : requested;
    const wanted = header?.trim();
    if (wanted) {
      if (!caller.apps.includes(wanted)) throw GatewayErrors.forbidden(`This key is not bound to app '${wanted.slice(0, 64)}'.`);
      return wanted;
    }
    if (caller.apps.length === 0) throw GatewayErrors.forbidden('This key is not bound to any Dify app.');
    if (caller.apps.length > 1) {
      throw GatewayErrors.invalidParam(`This key is bound to several Dify apps (${caller.apps.join(', ')}): name one in the X-Gateway-App header.`);
    }
    return caller.apps[0];
  }

  /** Forgets cached keys (all, or one): the admin use cases call this through KeyEvents. */
  invalidate(keyId: string): void {
    this.cache.invalidate(keyId);
    // A read that started before the change may return the old row: later requests must not join it.
    this.inFlight.clear();
  }

  /**
   * Keys issued before checksums have none; they are known by their hashes, read once (every key
   * issued since carries a checksum). A failed read is tried again by the next such request.
   */
  private async isLegacy(hash: string): Promise<boolean> {
    this.legacy ??= this.keys.secretHashes().then((hashes) => (this.legacyLoaded = new Set(hashes)));
    try {
      return (await this.legacy).has(hash);
    } catch (error) {
      this.legacy = undefined;
      throw error;
    }
  }

  private lookup(hash: string): Promise<ApiKeyMatch | null> {
    const cached = this.cache.get(hash);
    if (cached !== undefined) return Promise.resolve(cached);
    // Concurrent requests with the same key share one database read.
    let pending = this.inFlight.get(hash);
    if (!pending) {
      const token = this.cache.begin();
      pending = this.keys
        .findByHash(hash)
        .then((found) => {
          this.cache.set(hash, found, token);
          return found;
        })
        .finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  }

  private toCaller(record: ApiKeyRecord): Caller {
    const defaults = this.cfg.defaultLimits;
    return {
      keyId: record.id,
      name: record.name,
      scopes: record.scopes.filter(isScope),
      apps: record.apps,
      datasets: record.datasets,
      namespace: record.namespace,
      limits: {
        requestsPerMinute: record.limits.requestsPerMinute ?? defaults.requestsPerMinute,
        concurrentStreams: record.limits.concurrentStreams ?? defaults.concurrentStreams,
        dailyTokens: record.limits.dailyTokens ?? defaults.dailyTokens,
      },
    };
  }
}
