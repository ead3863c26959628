import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { difyConfig } from '../config/config-namespaces.js';
import { ResourceOwnerRepository } from './resource-owner.repository.js';

const EVERY_MS = 60 * 60 * 1000;

/**
 * Task ids matter only while their task runs (at most DIFY_MAX_CALL_MS), so their owners are
 * forgotten a day after that; run and upload owners are kept (the runs and files stay in Dify).
 * Every replica prunes; the delete is idempotent.
 */
@Injectable()
export class ResourceOwnerPruner implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ResourceOwnerPruner.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly owners: ResourceOwnerRepository,
    @Inject(difyConfig.KEY) private readonly cfg: ConfigType<typeof difyConfig>,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.prune(), EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async prune(now = Date.now()): Promise<number> {
    try {
      return await this.owners.prune('task', new Date(now - this.cfg.timeouts.maxCallMs - 24 * 60 * 60 * 1000));
    } catch (error) {
      this.logger.warn(`pruning task owners failed: ${(error as Error).name}`);
      return 0;
    }
  }
}
