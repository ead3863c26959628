import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Redis, type RedisOptions } from 'ioredis';
import { redisConfig } from '../config/config-namespaces.js';

/**
 * Commands fail at once while Redis is away (no offline queue) and after a second when it is
 * slow: the limits then let calls through (see CallerLimits) instead of making every call wait.
 */
const COMMAND_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1_000,
  // The commands of one event-loop turn (every call's limit checks) go out in one write.
  enableAutoPipelining: true,
  connectTimeout: 2_000,
  // Reconnect forever, at most every 2 s.
  retryStrategy: (times) => Math.min(times * 100, 2_000),
};

/** How long boot waits for Redis before going on without it (it keeps reconnecting). */
const BOOT_WAIT_MS = 3_000;

/**
 * The gateway's one Redis connection (plus one for subscriptions, which Redis requires to be
 * separate), or nothing when `REDIS_URL` is unset: then every feature that shares state across
 * replicas falls back to this process alone. Keys and channels are built with `key()`, so that
 * several gateways (or test runs) can share one Redis under different `REDIS_KEY_PREFIX`es.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RedisService.name);
  /** Undefined when Redis is not configured. */
  readonly client?: Redis;
  private subscriber?: Redis;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly resubscribed = new Set<() => void>();
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

  async onModuleInit(): Promise<void> {
    await this.ready();
  }

  /** Waits until the connection is up, at most `timeoutMs`; false (and a warning) if it is not. */
  async ready(timeoutMs = BOOT_WAIT_MS): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    if (client.status === 'ready') return true;
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onReady = () => done(true);
      const done = (value: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(value);
      };
      client.once('ready', onReady);
    });
    if (!up) this.logger.warn(`redis not reachable within ${timeoutMs} ms; going on, limits are not enforced until it is`);
    return up;
  }

  /**
   * Calls `handler` with every message published on `channel` (a name made with `key()`). The
   * subscription is made (again) each time the subscription connection becomes ready, and the
   * `onResubscribed` handlers run then, since messages may have been missed meanwhile. No-op
   * without Redis.
   */
  subscribe(channel: string, handler: (message: string) => void): void {
    if (!this.client) return;
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
    if (!this.subscriber) {
      const subscriber = this.client.duplicate({ commandTimeout: undefined, autoResubscribe: false, connectionName: 'dify-gateway-sub' });
      this.subscriber = subscriber;
      this.watch(subscriber, 'subscriptions');
      subscriber.on('message', (ch: string, message: string) => {
        for (const h of this.handlers.get(ch) ?? []) h(message);
      });
      subscriber.on('ready', () => void this.subscribeAll(subscriber));
    } else if (this.subscriber.status === 'ready') {
      void this.subscribeAll(this.subscriber);
    }
  }

  /** Called whenever subscriptions are (re)established: what was published before may be lost. */
  onResubscribed(handler: () => void): void {
    this.resubscribed.add(handler);
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

  private async subscribeAll(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(...this.handlers.keys());
      for (const handler of this.resubscribed) handler();
    } catch (error) {
      this.logger.error(`redis subscribe failed, retrying on the next connection: ${(error as Error).name}`);
    }
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
