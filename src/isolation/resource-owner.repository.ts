import { Inject, Injectable } from '@nestjs/common';
import { translatePrismaError } from '../database/database.errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { OwnedKind } from '../dify/dify.routes.js';

export interface ResourceOwnerKey {
  appAlias: string;
  kind: OwnedKind;
  resourceId: string;
}

/**
 * Owners of Dify ids (table `dify_resource_owners`), read and pruned through Prisma. They are
 * inserted by the audit writer, in the statement of its batches (see ResourceOwnerLedger).
 */
@Injectable()
export class ResourceOwnerRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Pick<PrismaService, 'client' | 'sql'>) {}

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
