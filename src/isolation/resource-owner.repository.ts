import { Inject, Injectable } from '@nestjs/common';
import { translateDriverError, translatePrismaError } from '../database/database.errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { OwnedKind } from '../dify/dify.routes.js';

export interface ResourceOwnerKey {
  appAlias: string;
  kind: OwnedKind;
  resourceId: string;
}

const RECORD_OWNERS_SQL = `
  INSERT INTO dify_resource_owners (app_alias, kind, resource_id, namespace)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
  ON CONFLICT DO NOTHING`;

/** Owners of Dify ids (table `dify_resource_owners`: inserts on bare SQL, reads through Prisma). */
@Injectable()
export class ResourceOwnerRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client' | 'sql'>) {}

  /** Records owners; an id that already has one keeps it (the first caller to be answered with it). */
  async record(owners: ReadonlyArray<ResourceOwnerKey & { namespace: string }>): Promise<void> {
    if (owners.length === 0) return;
    try {
      // Bare SQL, as the write-ahead: on the hot path (a chat answer's message id), where Prisma's
      // createMany compiled a plan per call (5 % of the CPU) and its $executeRaw still cost 5 %.
      await this.prisma.sql.query(RECORD_OWNERS_SQL, [
        owners.map((o) => o.appAlias),
        owners.map((o) => o.kind),
        owners.map((o) => o.resourceId),
        owners.map((o) => o.namespace),
      ]);
    } catch (err) {
      throw translateDriverError(err, 'resource owner');
    }
  }

  async ownerOf(key: ResourceOwnerKey): Promise<string | null> {
    try {
      const row = await this.prisma.client.difyResourceOwner.findUnique({
        where: { appAlias_kind_resourceId: { appAlias: key.appAlias, kind: key.kind, resourceId: key.resourceId } },
      });
      return row?.namespace ?? null;
    } catch (err) {
      throw translatePrismaError(err, 'resource owner');
    }
  }

  /** Forgets ids of one kind recorded before `before` (task ids only matter while the task runs). */
  async prune(kind: OwnedKind, before: Date): Promise<number> {
    try {
      const { count } = await this.prisma.client.difyResourceOwner.deleteMany({ where: { kind, createdAt: { lt: before } } });
      return count;
    } catch (err) {
      throw translatePrismaError(err, 'resource owner');
    }
  }
}
