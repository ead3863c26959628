import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { keysConfig } from '../config/config-namespaces.js';
import { ApiKeyRepository } from './api-key.repository.js';

/**
 * Last use of each key, without a database write per request: `touch` only notes the time in
 * memory, and every `KEY_LAST_USED_FLUSH_MS` the noted times go to the database in one
 * transaction (and once more at shutdown). `lastUsedAt` is therefore up to one interval behind.
 */
@Injectable()
export class LastUsedTracker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(LastUsedTracker.name);
  private pending = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly keys: ApiKeyRepository,
    @Inject(keysConfig.KEY) private readonly cfg: ConfigType<typeof keysConfig>,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.cfg.lastUsedFlushMs);
    this.timer.unref();
  }

  /** The database module is global, so it closes after this hook: the last flush still lands. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  touch(keyId: string, at = new Date()): void {
    this.pending.set(keyId, at);
  }

  /** Writes what was noted since the last flush; on failure the times are kept for the next one. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.keys.touchLastUsed([...batch].map(([id, at]) => ({ id, at })));
    } catch (error) {
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      this.logger.warn(`last-use times not written (${batch.size} keys), retrying later: ${(error as Error).name}`);
    }
  }
}
