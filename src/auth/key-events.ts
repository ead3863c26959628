import { Injectable, type OnModuleInit } from '@nestjs/common';
import { RedisService } from '../redis/redis.service.js';

/** `*`: forget every key (sent to ourselves when the subscription came back after a gap). */
export const ALL_KEYS = '*';

export type KeyChangedListener = (keyId: string) => void;

/**
 * "This key changed" (revoked, rotated, updated), told to every replica: at once to this
 * process's listeners, and over Redis pub/sub to the others, which drop the key from their
 * caches. Without Redis only this process hears it, and other replicas notice within
 * `KEY_CACHE_TTL_MS`. A replica whose subscription was interrupted may have missed messages, so
 * it forgets every cached key when the subscription returns.
 */
@Injectable()
export class KeyEvents implements OnModuleInit {
  private readonly listeners = new Set<KeyChangedListener>();

  constructor(private readonly redis: RedisService) {}

  private get channel(): string {
    return this.redis.key('keys', 'changed');
  }

  onModuleInit(): void {
    if (!this.redis.enabled) return;
    // Until the subscription is up (Redis down at boot), the cache TTL bounds staleness.
    this.redis.onResubscribed(() => this.notify(ALL_KEYS));
    this.redis.subscribe(this.channel, (keyId) => this.notify(keyId));
  }

  onChanged(listener: KeyChangedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells this process at once, then every other replica (when Redis is configured). */
  async changed(keyId: string): Promise<void> {
    this.notify(keyId);
    await this.redis.publish(this.channel, keyId);
  }

  private notify(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
  }
}
