import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { ServerResponse } from 'node:http';
import type { Caller } from '../auth/caller.js';
import { GatewaySignals } from '../common/gateway-signals.js';
import { RedisService } from '../redis/redis.service.js';
import { StreamSlots, type StreamSlot } from './stream-slots.js';
import { secondsUntilUtcMidnight, TokenBudget, utcDay } from './token-budget.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

export const RATE_WINDOW_MS = 60_000;
/** The throttler name under which per-key request counts are kept. */
export const PER_KEY_THROTTLER = 'per-key-rpm';
const NO_SLOT: StreamSlot = { release: () => undefined };
/** A stream has no known end: callers over the stream limit are asked to retry soon. */
const STREAM_RETRY_AFTER_SECONDS = 2;

/**
 * Per-key limits, checked after the key is known and before anything is sent to Dify:
 * - requests per minute: @nestjs/throttler's storage (Redis with REDIS_URL: the limit is the total
 *   over every replica), sliding over the last 60 s;
 * - concurrent streams: a slot per open SSE answer (StreamSlots);
 * - daily tokens: what Dify reported for the key's calls today (UTC), checked before a call.
 * Over a limit: 429 with `Retry-After` and the RateLimit headers; the gateway never retries its
 * own 429s. A limit of 0 means none. If Redis fails, the limits let calls through (and log it):
 * an outage of the limiter must not become an outage of the gateway.
 */
@Injectable()
export class CallerLimits {
  private readonly logger = new Logger(CallerLimits.name);
  private readonly slots: StreamSlots;
  private readonly budget: TokenBudget;
  private lastFailure = 0;

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    redis: RedisService,
    @Optional() private readonly signals?: GatewaySignals,
  ) {
    this.slots = new StreamSlots(redis.enabled ? redis : undefined);
    this.budget = new TokenBudget(redis.enabled ? redis : undefined);
  }

  /** Counts the request against the key's rate and checks its token budget; sets the RateLimit headers. */
  async admit(caller: Caller, res: ServerResponse): Promise<void> {
    const { requestsPerMinute: rpm, dailyTokens } = caller.limits;
    // Both asked at once (one round trip to Redis with auto-pipelining); the rate is still checked first.
    const rate = rpm > 0 ? this.failOpen('rate limit', () => this.storage.increment(caller.keyId, RATE_WINDOW_MS, rpm, 0, PER_KEY_THROTTLER)) : undefined;
    const usage = dailyTokens > 0 ? this.failOpen('token budget', () => this.budget.used(caller.keyId)) : undefined;
    if (rate) {
      const hit = await rate;
      if (hit) {
        const headers = rateHeaders(rpm, Math.max(0, rpm - hit.totalHits), hit.isBlocked ? hit.timeToBlockExpire : hit.timeToExpire);
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        if (hit.isBlocked) {
          const retryAfter = String(Math.max(1, hit.timeToBlockExpire));
          throw GatewayErrors.rateLimited(rpm, retryAfter, headers);
        }
      }
    }
    if (usage) {
      const used = await usage;
      if (used !== undefined && used >= dailyTokens) {
        const retryAfter = String(secondsUntilUtcMidnight(Date.now()));
        throw GatewayErrors.tokenBudgetExceeded(dailyTokens, retryAfter);
      }
    }
  }

  /** A slot for one streaming answer; release it when the stream ends. */
  async openStream(caller: Caller): Promise<StreamSlot> {
    const limit = caller.limits.concurrentStreams;
    if (limit <= 0) return NO_SLOT;
    const acquired = await this.failOpen('stream limit', async () => ({ slot: await this.slots.acquire(caller.keyId, limit) }));
    if (acquired === undefined) return NO_SLOT; // Redis failed: fail open
    const { slot } = acquired;
    if (slot === undefined) {
      throw GatewayErrors.tooManyStreams(limit, String(STREAM_RETRY_AFTER_SECONDS));
    }
    return slot;
  }

  /** Adds the tokens Dify reported for a finished call to the key's day. */
  async recordTokens(caller: Caller, tokens: number | undefined): Promise<void> {
    if (!tokens || caller.limits.dailyTokens <= 0) return;
    const used = await this.failOpen('token budget', () => this.budget.add(caller.keyId, tokens));
    // For the budget alerts (80 % and 100 %), which decide whether this crosses a threshold.
    if (used !== undefined) {
      const { keyId, name: keyName, limits } = caller;
      this.signals?.emit({ kind: 'budget.used', keyId, keyName, usedTokens: used, dailyTokens: limits.dailyTokens, day: utcDay(Date.now()) });
    }
  }

  private async failOpen<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      if (Date.now() - this.lastFailure > 10_000) this.logger.error(`${what} not enforced, Redis failed: ${(error as Error).name}`);
      this.lastFailure = Date.now();
      return undefined;
    }
  }
}

/** The limit headers @nestjs/throttler sends (X-RateLimit-*) and the IETF draft's (RateLimit-*). */
function rateHeaders(limit: number, remaining: number, resetSeconds: number): Record<string, string> {
  const reset = String(Math.max(0, resetSeconds));
  return {
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': reset,
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(remaining),
    'ratelimit-reset': reset,
    'ratelimit-policy': `${limit};w=${RATE_WINDOW_MS / 1000}`,
  };
}
