import type { RedisService } from '../redis/redis.service.js';

const DAY_MS = 86_400_000;

/** The UTC day of `now`, as `YYYY-MM-DD`. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Seconds until the next UTC midnight (at least 1). */
export function secondsUntilUtcMidnight(now: number): number {
  return Math.max(1, Math.ceil((DAY_MS - (now % DAY_MS)) / 1000));
}

/**
 * Tokens each key used today (UTC), as Dify reported them. With Redis one counter per key and
 * day shared by every replica (it expires after two days); without, a counter in this process.
 */
export class TokenBudget {
  private readonly local = new Map<string, number>();

  constructor(
    private readonly redis?: RedisService,
    private readonly now: () => number = Date.now,
  ) {}

  async used(keyId: string): Promise<number> {
    const key = this.key(keyId);
    if (!this.redis?.client) return this.local.get(key) ?? 0;
    return Number((await this.redis.client.get(key)) ?? 0);
  }

  /** Adds to today's count; resolves with the day's total after it (undefined when nothing was added). */
  async add(keyId: string, tokens: number): Promise<number | undefined> {
    if (!Number.isFinite(tokens) || tokens <= 0) return undefined;
    const key = this.key(keyId);
    if (!this.redis?.client) {
      const today = utcDay(this.now());
      for (const k of this.local.keys()) if (!k.endsWith(today)) this.local.delete(k);
      const total = (this.local.get(key) ?? 0) + Math.round(tokens);
      this.local.set(key, total);
      return total;
    }
    const results = await this.redis.client
      .multi()
      .incrby(key, Math.round(tokens))
      .pexpire(key, 2 * DAY_MS)
      .exec();
    return Number(results?.[0]?.[1] ?? 0);
  }

  private key(keyId: string): string {
    const name = `tokens:${keyId}:${utcDay(this.now())}`;
    return this.redis?.client ? this.redis.key(name) : name;
  }
}
