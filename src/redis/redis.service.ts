import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Redis, type RedisOptions } from 'ioredis';
import { redisConfig } from '../config/redis.config.js';

/** Commands fail fast instead of queueing while Redis is away: limits then fail open (see callers). */
const COMMAND_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  commandTimeout: 1_000,
  connectTimeout: 2_000,
  // Reconnect forever, at most every 2 s.
  retryStrategy: (times) => Math.min(times * 100, 2_000),
};

/**
 * The gateway's one Redis connection (plus one for subscriptions, which Redis requires to be
 * separate), or nothing when `REDIS_URL` is unset: then every feature that shares state across
 * replicas falls back to this process alone. Keys and channels are built with `key()`, so that
 * several gateways (or test runs) can share one Redis under different `REDIS_KEY_PREFIX`es.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  private readonly logger = new Logger(RedisService.name);
  /** Undefined when Redis is not configured. */
  readonly client?: Redis;
  private subscriber?: Redis;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private lastError?: string;

  constructor(@Inject(redisConfig.KEY) private readonly cfg: ConfigType<typeof redisConfig>) {
    if (!cfg.url) return;
    this.client = new Redis(cfg.url.reveal(), { ...COMMAND_OPTIONS, connectionName: 'dify-gateway' });
    this.watch(this.client, 'commands');
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** `<REDIS_KEY_PREFIX><parts joined by ':'>`. */
  key(...parts: string[]): string {
    return this.cfg.keyPrefix + parts.join(':');
  }

  /**
   * Calls `handler` with every message published on `channel` (a name passed through `key()`),
   * and the reconnect handlers whenever the subscription comes back after a disconnection (when
   * messages may have been missed). No-op without Redis.
   */
  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    if (!this.client) return;
    if (!this.subscriber) {
      this.subscriber = this.client.duplicate({ commandTimeout: undefined, connectionName: 'dify-gateway-sub' });
      this.watch(this.subscriber, 'subscriptions');
      this.subscriber.on('message', (ch: string, message: string) => {
        for (const h of this.handlers.get(ch) ?? []) h(message);
      });
      let readyBefore = false;
      this.subscriber.on('ready', () => {
        if (readyBefore) for (const h of this.reconnectHandlers) h();
        readyBefore = true;
      });
    }
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
    await this.subscriber.subscribe(channel);
  }

  /** Called when a subscription connection is re-established (messages may have been lost). */
  onResubscribed(handler: () => void): void {
    this.reconnectHandlers.add(handler);
  }

  /** Publishes; returns false (and logs) when Redis is unset or unreachable. */
  async publish(channel: string, message: string): Promise<boolean> {
    if (!this.client) return false;
    try {
      await this.client.publish(channel, message);
      return true;
    } catch (error) {
      this.logger.warn(`redis publish failed: ${(error as Error).name}`);
      return false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.client, this.subscriber].map((c) => c?.quit().catch(() => c.disconnect())));
  }

  private watch(connection: Redis, role: string): void {
    connection.on('error', (error: Error & { code?: string }) => {
      // ioredis repeats the same error on every reconnect attempt: log each kind once.
      const what = `${role}: ${error.code ?? error.name}`;
      if (what !== this.lastError) this.logger.error(`redis ${what}`);
      this.lastError = what;
    });
    connection.on('ready', () => {
      if (this.lastError) this.logger.log(`redis ${role} connection ready again`);
      this.lastError = undefined;
    });
  }
}
