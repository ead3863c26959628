import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { DifyTargets, type DifyTargetChange } from '../config/dify-targets.js';

/** Writes every change of a Dify key or app picked up from its file to the audit log (never the key). */
@Injectable()
export class DifyKeyReloadAuditor implements OnModuleInit, OnModuleDestroy {
  private unsubscribe?: () => void;

  constructor(
    private readonly targets: DifyTargets,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.targets.onChange((changes) => void this.record(changes));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private async record(changes: DifyTargetChange[]): Promise<void> {
    const requestId = `config-reload-${randomUUID()}`;
    for (const change of changes) {
      await this.audit.recordAdminAction({
        requestId,
        action: `dify.${change.change}`,
        actorKeyId: null,
        actorName: 'gateway',
        target: change.keyLast4 ? `${change.alias} key=…${change.keyLast4}` : change.alias,
        appAlias: change.alias,
        status: 200,
        outcome: 'success',
      });
    }
  }
}
