import { checkRedisUrl } from './checks.js';
import { int, optional, secretUrl, text, withDefault } from './parsers.js';

/** Idempotency, Redis (shared state between replicas) and gateway keys. */
export const KEYS_ENV = {
  IDEMPOTENCY_TTL_MS: withDefault(int(1_000, 604_800_000), '3600000', 'How long an Idempotency-Key is remembered.'),
  IDEMPOTENCY_MAX_KEYS: withDefault(int(100, 10_000_000), '100000', 'Idempotency keys kept in memory (without Redis).'),
  REDIS_URL: optional(secretUrl(checkRedisUrl), 'Redis for limits, idempotency and revocations across replicas; unset: per process.', {
    secretFile: true,
  }),
  REDIS_KEY_PREFIX: withDefault(text(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1-64 letters, digits or : _ . -'), 'dify-gateway:', 'Prefix of every Redis key.'),
  KEY_ROTATION_GRACE_SECONDS: withDefault(int(0, 30 * 86_400), '86400', 'How long the old secret keeps working after a rotation.'),
  KEY_CACHE_TTL_MS: withDefault(int(0, 3_600_000), '30000', 'How long a replica reuses a key it looked up (revocations also arrive over Redis).'),
  KEY_LAST_USED_FLUSH_MS: withDefault(int(1_000, 3_600_000), '60000', 'How often last-use times are written (one batch).'),
  KEY_DEFAULT_REQUESTS_PER_MINUTE: withDefault(int(0, 1_000_000), '600', 'Rate of a key that sets none; 0: no limit.'),
  KEY_DEFAULT_CONCURRENT_STREAMS: withDefault(int(0, 100_000), '20', 'Open streams of a key that sets none; 0: no limit.'),
  KEY_DEFAULT_DAILY_TOKENS: withDefault(int(0, 2_000_000_000), '0', 'Tokens per UTC day of a key that sets none; 0: no limit.'),
};
