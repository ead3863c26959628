import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { GatewayError } from '../common/gateway-error.js';
import { RedisService } from '../redis/redis.service.js';
import { difyConfig } from '../config/config-namespaces.js';
import { idempotencyConfig } from '../config/config-namespaces.js';
import { DifyError } from './dify.errors.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

const HEADER_VALUE = /^[\x20-\x7e]{1,255}$/;

type Entry = { state: 'in_flight'; requestId: string; expiresAt: number } | { state: 'done'; requestId: string; status: number; expiresAt: number };

/** A claimed key; `finish` must be called once the call is over. */
export interface IdempotencyClaim {
  finish(result: { status: number; workNotDone: boolean }): Promise<void>;
}

const NO_CLAIM: IdempotencyClaim = { finish: async () => undefined };

/**
 * `Idempotency-Key` per caller: while a call with a key is in flight, another call with the same
 * key from the same gateway key gets 409; once it completed, it gets 409 naming the first request
 * id for `IDEMPOTENCY_TTL_MS`. A call that provably did not run frees its key at once, so the
 * caller can repeat it. Keys are stored hashed (with the caller's key id), never as sent.
 *
 * Store: Redis when `REDIS_URL` is set (shared by replicas), otherwise this process's memory
 * (bounded by `IDEMPOTENCY_MAX_KEYS`; other replicas do not see it).
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  private readonly memory = new Map<string, Entry>();
  private readonly inFlightTtlMs: number;

  constructor(
    @Inject(idempotencyConfig.KEY) private readonly cfg: ConfigType<typeof idempotencyConfig>,
    @Inject(difyConfig.KEY) dify: ConfigType<typeof difyConfig>,
    private readonly redis: RedisService,
  ) {
    // A claim whose gateway died is forgotten after the longest a call can last.
    this.inFlightTtlMs = dify.timeouts.maxCallMs + 60_000;
  }

  /** Claims the caller's key for this request, or throws the 409 (or 400 for a malformed key). */
  async claim(header: string | string[] | undefined, callerKeyId: string, requestId: string): Promise<IdempotencyClaim> {
    if (header === undefined) return NO_CLAIM;
    if (typeof header !== 'string' || !HEADER_VALUE.test(header)) {
      throw GatewayErrors.invalidParam('Idempotency-Key must be one header of 1 to 255 printable ASCII characters.');
    }
    const id = createHash('sha256').update(callerKeyId).update('\0').update(header).digest('base64url');
    const existing = this.redis.client ? await this.claimInRedis(id, requestId) : this.claimInMemory(id, requestId);
    if (existing?.state === 'in_flight') {
      throw GatewayErrors.idempotencyKeyInFlight(existing.requestId);
    }
    if (existing?.state === 'done') {
      throw GatewayErrors.idempotencyKeyReused(existing.requestId, existing.status);
    }
    return {
      finish: async ({ status, workNotDone }) => {
        try {
          if (workNotDone) await this.release(id, requestId);
          else await this.complete(id, requestId, status);
        } catch (error) {
          this.logger.error({ event: 'idempotency_store_failed', requestId, error: (error as Error).name });
        }
      },
    };
  }

  /** Under `REDIS_KEY_PREFIX`, like every key the gateway keeps in Redis. */
  private redisKey(id: string): string {
    return this.redis.key('idem', id);
  }

  private claimInMemory(id: string, requestId: string): Entry | undefined {
    const now = Date.now();
    const existing = this.memory.get(id);
    if (existing && existing.expiresAt > now) return existing;
    this.memory.set(id, { state: 'in_flight', requestId, expiresAt: now + this.inFlightTtlMs });
    this.evict(now);
    return undefined;
  }

  private async claimInRedis(id: string, requestId: string): Promise<Entry | undefined> {
    const client = this.redis.client!;
    try {
      const key = this.redisKey(id);
      const claimed = await client.set(key, `in_flight|${requestId}`, 'PX', this.inFlightTtlMs, 'NX');
      if (claimed === 'OK') return undefined;
      const value = await client.get(key);
      if (value === null) return this.claimInRedis(id, requestId); // expired between the two commands
      const [state, first, status] = value.split('|');
      return state === 'done' ? { state, requestId: first, status: Number(status), expiresAt: 0 } : { state: 'in_flight', requestId: first, expiresAt: 0 };
    } catch {
      throw GatewayErrors.idempotencyUnavailable();
    }
  }

  private async complete(id: string, requestId: string, status: number): Promise<void> {
    if (this.redis.client) {
      await this.redis.client.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return 0",
        1,
        this.redisKey(id),
        `in_flight|${requestId}`,
        `done|${requestId}|${status}`,
        String(this.cfg.ttlMs),
      );
      return;
    }
    const entry = this.memory.get(id);
    if (entry?.requestId !== requestId) return;
    this.memory.delete(id); // re-inserted last: the Map's order is the eviction order
    this.memory.set(id, { state: 'done', requestId, status, expiresAt: Date.now() + this.cfg.ttlMs });
  }

  private async release(id: string, requestId: string): Promise<void> {
    if (this.redis.client) {
      await this.redis.client.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
        1,
        this.redisKey(id),
        `in_flight|${requestId}`,
      );
      return;
    }
    if (this.memory.get(id)?.requestId === requestId) this.memory.delete(id);
  }

  /** Drops expired entries, then the oldest completed ones beyond the cap (in-flight ones stay). */
  private evict(now: number): void {
    if (this.memory.size <= this.cfg.maxKeys) return;
    for (const [id, entry] of this.memory) {
      if (this.memory.size <= this.cfg.maxKeys) return;
      if (entry.expiresAt <= now || entry.state === 'done') this.memory.delete(id);
    }
  }
}

/**
 * Whether a failed call provably did no work at Dify, so that its Idempotency-Key may be used
 * again: it never reached Dify, or Dify refused it up front (429 too_many_requests or a quota,
 * 503, our own key refused).
 */
export function provesNotDone(error: unknown): boolean {
  if (error instanceof GatewayError) return error.status === 429 || error.status === 503 || error.code === 'shutting_down';
  if (!(error instanceof DifyError)) return false;
  if (!error.mayHaveReachedDify) return true;
  if (error.kind === 'http' || error.kind === 'bad_response') {
    const status = error.status ?? 0;
    return status === 429 || status === 503 || status === 401 || (status === 403 && error.difyCode === 'forbidden');
  }
  return false;
}
