import { Inject, Injectable } from '@nestjs/common';
import { isUuid, translatePrismaError } from '../database/database.errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { ApiKey } from '../generated/prisma/client.js';

export { DuplicateKeyError } from '../database/database.errors.js';

/** A gateway key as the rest of the code sees it: never the hash, never a Prisma type. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The displayable start of the secret (`dgw_abc123`). */
  prefix: string;
  scopes: string[];
  apps: string[];
  createdAt: Date;
  revokedAt: Date | null;
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
        },
      });
      return toRecord(row);
    } catch (err) {
      throw translatePrismaError(err, 'api key');
    }
  }

  /** The key with this hash, unless it is revoked (or unknown): then null. */
  async findActiveByHash(hash: string): Promise<ApiKeyRecord | null> {
    try {
      const row = await this.prisma.client.apiKey.findUnique({ where: { hash } });
      return row && row.revokedAt === null ? toRecord(row) : null;
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
   * Revokes the key: sets `revokedAt` once (a second call returns the record with its first
   * `revokedAt`, unchanged). Null when no key has this id.
   */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    if (!isUuid(id)) return null;
    try {
      // The `revokedAt: null` condition makes the first revocation win, even when two race.
      await this.prisma.client.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
      const row = await this.prisma.client.apiKey.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
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
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}
