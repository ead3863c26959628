import { Inject, Injectable } from '@nestjs/common';
import { isUuid, translatePrismaError } from '../database/database.errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { ApiKey } from '../generated/prisma/client.js';

export { DuplicateKeyError } from '../database/database.errors.js';

/** A key's own limits; null means "the gateway's default", 0 means "no limit". */
export interface ApiKeyLimits {
  requestsPerMinute: number | null;
  concurrentStreams: number | null;
  dailyTokens: number | null;
}

/** A gateway key as the rest of the code sees it: never a hash, never a Prisma type. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The displayable start of the current secret (`dgw_abc123`). */
  prefix: string;
  scopes: string[];
  apps: string[];
  /** Knowledge base ids the key may reach; `*` means all. */
  datasets: string[];
  /** Prefix of the Dify `user` of every call made with this key. */
  namespace: string;
  limits: ApiKeyLimits;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
  /** Written in batches (see LastUsedTracker), so up to a flush interval behind. */
  lastUsedAt: Date | null;
  rotatedAt: Date | null;
  /** Until when the secret before the last rotation still works; null when it does not. */
  previousSecretExpiresAt: Date | null;
}

export interface NewApiKey {
  /** A UUID chosen by the caller. */
  id: string;
  name: string;
  prefix: string;
  /** SHA-256 hex of the secret (`hashApiKey`). */
  hash: string;
  scopes: string[];
  apps: string[];
  datasets?: string[];
  /** Default: the first 12 hex digits of the id. */
  namespace?: string;
  limits?: Partial<ApiKeyLimits>;
  expiresAt?: Date | null;
}

/** What `update` may change. Absent fields stay as they are. */
export interface ApiKeyChanges {
  name?: string;
  scopes?: string[];
  apps?: string[];
  datasets?: string[];
  limits?: Partial<ApiKeyLimits>;
  expiresAt?: Date | null;
}

/** A key found by one of its secrets; `previous` means the secret replaced by the last rotation. */
export interface ApiKeyMatch {
  record: ApiKeyRecord;
  matched: 'current' | 'previous';
}

/** The namespace a key gets when none is chosen: stable, short, and unique in practice. */
export function defaultNamespace(id: string): string {
  return id.replace(/-/g, '').slice(0, 12).toLowerCase();
}

/**
 * Stores gateway keys (Prisma, table `api_keys`). Outside Nest, construct it with anything that
 * has the client: `new ApiKeyRepository({ client })` with `client` from `openDatabase()`.
 */
@Injectable()
export class ApiKeyRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client'>) {}

  /** Throws `DuplicateKeyError` when the id or the hash already exists. */
  async insert(input: NewApiKey): Promise<ApiKeyRecord> {
    try {
      const row = await this.prisma.client.apiKey.create({
        data: {
          id: input.id,
          name: input.name,
          prefix: input.prefix,
          hash: input.hash,
          scopes: [...input.scopes],
          apps: [...input.apps],
          datasets: [...(input.datasets ?? [])],
          namespace: input.namespace ?? defaultNamespace(input.id),
          requestsPerMinute: input.limits?.requestsPerMinute ?? null,
          concurrentStreams: input.limits?.concurrentStreams ?? null,
          dailyTokens: input.limits?.dailyTokens ?? null,
          expiresAt: input.expiresAt ?? null,
        },
      });
      return toRecord(row);
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /**
   * The unrevoked key whose current secret has this hash, or whose previous secret has it and is
   * still in its grace period at `now` (a parameter so that a spec need not wait for a grace to
   * end). Expiry is not checked here (the caller compares `expiresAt`).
   */
  async findByHash(hash: string, now = new Date()): Promise<ApiKeyMatch | null> {
    try {
      const row = await this.prisma.client.apiKey.findFirst({
        where: {
          revokedAt: null,
          OR: [{ hash }, { previousHash: hash, previousHashExpiresAt: { gt: now } }],
        },
      });
      if (!row) return null;
      return { record: toRecord(row), matched: row.hash === hash ? 'current' : 'previous' };
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  async findById(id: string): Promise<ApiKeyRecord | null> {
    if (!isUuid(id)) return null;
    try {
      const row = await this.prisma.client.apiKey.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /** The secret hashes (current and previous) of every unrevoked key: what may be a key issued before checksums. */
  async secretHashes(): Promise<string[]> {
    try {
      const rows = await this.prisma.client.apiKey.findMany({ where: { revokedAt: null }, select: { hash: true, previousHash: true } });
      return rows.flatMap((r) => (r.previousHash ? [r.hash, r.previousHash] : [r.hash]));
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  async namespaceInUse(namespace: string): Promise<boolean> {
    try {
      return (await this.prisma.client.apiKey.findFirst({ where: { namespace }, select: { id: true } })) !== null;
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /** Every key, revoked ones included, newest first. */
  async list(): Promise<ApiKeyRecord[]> {
    try {
      const rows = await this.prisma.client.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      return rows.map(toRecord);
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /**
   * Changes an unrevoked key. Returns the updated record, or null when no unrevoked key has this
   * id (look it up to tell "unknown" from "revoked").
   */
  async update(id: string, changes: ApiKeyChanges): Promise<ApiKeyRecord | null> {
    if (!isUuid(id)) return null;
    const limits = changes.limits ?? {};
    try {
      const { count } = await this.prisma.client.apiKey.updateMany({
        where: { id, revokedAt: null },
        data: {
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.scopes !== undefined ? { scopes: [...changes.scopes] } : {}),
          ...(changes.apps !== undefined ? { apps: [...changes.apps] } : {}),
          ...(changes.datasets !== undefined ? { datasets: [...changes.datasets] } : {}),
          ...('requestsPerMinute' in limits ? { requestsPerMinute: limits.requestsPerMinute } : {}),
          ...('concurrentStreams' in limits ? { concurrentStreams: limits.concurrentStreams } : {}),
          ...('dailyTokens' in limits ? { dailyTokens: limits.dailyTokens } : {}),
          ...(changes.expiresAt !== undefined ? { expiresAt: changes.expiresAt } : {}),
          updatedAt: new Date(),
        },
      });
      return count === 0 ? null : this.findById(id);
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /**
   * Revokes the key: sets `revokedAt` once (a second call returns the record with its first
   * `revokedAt`, unchanged). Null when no key has this id.
   */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    if (!isUuid(id)) return null;
    try {
      // The `revokedAt: null` condition makes the first revocation win, even when two race.
      await this.prisma.client.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date(), updatedAt: new Date() } });
      const row = await this.prisma.client.apiKey.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /**
   * Gives an unrevoked key a new secret. The current secret becomes the previous one and keeps
   * working until `previousValidUntil` (null or a past time: it stops at once); a secret from an
   * earlier rotation stops now. Null when no unrevoked key has this id.
   */
  async rotate(id: string, next: { prefix: string; hash: string; previousValidUntil: Date | null }): Promise<ApiKeyRecord | null> {
    if (!isUuid(id)) return null;
    const now = new Date();
    const keepPrevious = next.previousValidUntil !== null && next.previousValidUntil > now;
    try {
      // Optimistic: the update only applies to the secret just read, so two rotations that race
      // cannot both demote the same secret; the loser reads again.
      for (let attempt = 0; attempt < 5; attempt++) {
        const row = await this.prisma.client.apiKey.findUnique({ where: { id } });
        if (!row || row.revokedAt) return null;
        const { count } = await this.prisma.client.apiKey.updateMany({
          where: { id, hash: row.hash, revokedAt: null },
          data: {
            hash: next.hash,
            prefix: next.prefix,
            previousHash: keepPrevious ? row.hash : null,
            previousHashExpiresAt: keepPrevious ? next.previousValidUntil : null,
            rotatedAt: now,
            updatedAt: now,
          },
        });
        if (count === 1) return this.findById(id);
      }
      throw new Error('api key rotation kept racing with another rotation');
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /** Records last-use times in one transaction; a time never moves backwards. */
  async touchLastUsed(uses: ReadonlyArray<{ id: string; at: Date }>): Promise<void> {
    const valid = uses.filter((u) => isUuid(u.id));
    if (valid.length === 0) return;
    try {
      await this.prisma.client.$transaction(
        valid.map(({ id, at }) =>
          this.prisma.client.apiKey.updateMany({
            where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: at } }] },
            data: { lastUsedAt: at },
          }),
        ),
      );
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }
}

function toRecord(row: ApiKey): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    // The columns are nullable `TEXT[]` (Prisma's mapping of a list); a NULL reads as empty.
    scopes: [...(row.scopes ?? [])],
    apps: [...(row.apps ?? [])],
    datasets: [...(row.datasets ?? [])],
    namespace: row.namespace,
    limits: {
      requestsPerMinute: row.requestsPerMinute,
      concurrentStreams: row.concurrentStreams,
      dailyTokens: row.dailyTokens,
    },
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    rotatedAt: row.rotatedAt,
    previousSecretExpiresAt: row.previousHash && row.previousHashExpiresAt ? row.previousHashExpiresAt : null,
  };
}
