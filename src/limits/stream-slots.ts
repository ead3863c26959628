import { randomUUID } from 'node:crypto';
import type { RedisService } from '../redis/redis.service.js';

/** A held slot; `release` is idempotent. */
export interface StreamSlot {
  release(): void;
}

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;

/**
 * How many streams each key has open. With Redis: a sorted set of leases per key, each renewed
 * while its stream runs and expiring `leaseMs` after a replica died holding it, so a crash
 * cannot leak slots for longer than that. Without Redis: a counter in this process.
 */
export class StreamSlots {
  private readonly local = new Map<string, number>();

  constructor(
    private readonly redis?: RedisService,
    private readonly leaseMs = 60_000,
  ) {
    redis?.client?.defineCommand('dgwSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    redis?.client?.defineCommand('dgwSlotRenew', { numberOfKeys: 1, lua: RENEW });
  }

  /** A slot, or undefined when the key already has `limit` streams open. */
  async acquire(keyId: string, limit: number): Promise<StreamSlot | undefined> {
    if (!this.redis?.client) return this.acquireLocal(keyId, limit);
    const client = this.redis.client as unknown as {
      dgwSlotAcquire(key: string, limit: number, lease: number, member: string): Promise<number>;
      dgwSlotRenew(key: string, lease: number, member: string): Promise<number>;
      zrem(key: string, member: string): Promise<number>;
    };
    const key = this.redis.key('streams', keyId);
    const lease = randomUUID();
    if ((await client.dgwSlotAcquire(key, limit, this.leaseMs, lease)) !== 1) return undefined;
    const renew = setInterval(() => void client.dgwSlotRenew(key, this.leaseMs, lease).catch(() => undefined), Math.floor(this.leaseMs / 3));
    renew.unref();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        void client.zrem(key, lease).catch(() => undefined); // else the lease expires on its own
      },
    };
  }

  private acquireLocal(keyId: string, limit: number): StreamSlot | undefined {
    const open = this.local.get(keyId) ?? 0;
    if (open >= limit) return undefined;
    this.local.set(keyId, open + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const now = (this.local.get(keyId) ?? 1) - 1;
        if (now <= 0) this.local.delete(keyId);
        else this.local.set(keyId, now);
      },
    };
  }
}
