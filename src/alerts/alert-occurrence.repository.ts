import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { RedisService } from '../redis/redis.service.js';

/** How long a claim made in Redis (when the database is the thing that is down) is kept. */
const REDIS_CLAIM_MS = 24 * 3_600_000;

/**
 * Once per occurrence across replicas: the replica whose write wins sends the alert, the others
 * stay quiet. An occurrence is one row of `alert_occurrences` (insert-if-absent), and a
 * condition with states (breaker, audit store, sink lag) is one row per subject whose state is
 * moved by compare-and-set, so each change is claimed once. When the database itself fails
 * (the audit store alert), the claim falls back to Redis SET NX; without Redis each replica sends.
 */
@Injectable()
export class AlertOccurrenceRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
  ) {}

  /** True for the first claim of `key`, ever. */
  async claimOnce(key: string, kind: string): Promise<boolean> {
    return this.withFallback(key, async () => {
      const inserted = await this.prisma.client.$executeRaw`INSERT INTO alert_occurrences (key, kind) VALUES (${key}, ${kind}) ON CONFLICT (key) DO NOTHING`;
      return inserted === 1;
    });
  }

  /**
   * Moves `subject` to `state`; true when this call changed it (the first sighting of a subject
   * counts as a change only when it is not in its `normal` state).
   */
  async transition(subject: string, state: string, normal: string, episode: string): Promise<boolean> {
    return this.withFallback(`${subject}:${state}:${episode}`, async () => {
      const key = `state:${subject}`;
      const updated = await this.prisma.client.$executeRaw`
        UPDATE alert_occurrences SET kind = ${state}, created_at = clock_timestamp() WHERE key = ${key} AND kind <> ${state}`;
      if (updated === 1) return true;
      const inserted = await this.prisma.client.$executeRaw`INSERT INTO alert_occurrences (key, kind) VALUES (${key}, ${state}) ON CONFLICT (key) DO NOTHING`;
      return inserted === 1 && state !== normal;
    });
  }

  private async withFallback(key: string, claim: () => Promise<boolean>): Promise<boolean> {
    try {
      return await claim();
    } catch {
      if (!this.redis.enabled || !this.redis.client) return true;
      try {
        return (await this.redis.client.set(this.redis.key('alert', key), '1', 'PX', REDIS_CLAIM_MS, 'NX')) === 'OK';
      } catch {
        return true;
      }
    }
  }
}
