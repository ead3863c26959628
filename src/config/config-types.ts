/** The shapes of the typed gateway configuration (built by gateway-config.ts). */
import type { Secret } from './secret.js';
import type { LogLevel } from './env.schema.js';
import type { TracingConfig } from './tracing-settings.js';
import type { SinksConfig } from './audit-sinks.js';
import type { DifyAppConfig } from './dify-apps.js';

export interface AppConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  /** `LOG_FORMAT=json` (the default). */
  logJson: boolean;
  shutdownDrainMs: number;
  trustProxy: boolean;
}

export interface DifyConfig {
  /** At least one app (none where `LoadOptions.unused` has `dify`); a null-prototype object, so `apps['toString']` is undefined. */
  apps: Record<string, DifyAppConfig>;
  /** The alias used when a caller names no app. Always a key of `apps` (or '' when there are none). */
  defaultApp: string;
  allowInsecureHttp: boolean;
  timeouts: { connectMs: number; firstByteMs: number; streamIdleMs: number; maxCallMs: number };
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number };
  /** Concurrent upstream calls per app (per replica); beyond it a call is refused at once. */
  maxConcurrentCalls: number;
  /** Sockets per Dify origin (per replica), never below `maxConcurrentCalls`; beyond them a call fails at once. */
  maxSockets: number;
  /** Circuit breaker per app. `failureRatio` 0 turns it off. */
  breaker: { failureRatio: number; windowMs: number; minCalls: number; openMs: number };
  readyProbe: { cacheMs: number; failuresBeforeDown: number; required: boolean };
  /** The knowledge (dataset) API target, when `DIFY_DATASET_API_KEY(_FILE)` is set. Alias `datasets`. */
  datasets?: DifyAppConfig;
  /** How often key files and the apps file are re-read (ms); 0: never. */
  reloadMs: number;
}

/** The limits a key gets when it sets none of its own; 0 means unlimited. */
export interface KeyLimits {
  requestsPerMinute: number;
  concurrentStreams: number;
  dailyTokens: number;
}

export interface KeysConfig {
  /** Default grace period of the old secret after a rotation. */
  rotationGraceSeconds: number;
  /** How long a looked-up key is reused by this replica (0: look up every request). */
  cacheTtlMs: number;
  lastUsedFlushMs: number;
  defaultLimits: KeyLimits;
}

export interface RedisConfig {
  /** Unset: limits, revocations, caches and Idempotency-Key records are per process. */
  url?: Secret;
  /** Prefix of every key and channel the gateway uses in Redis. */
  keyPrefix: string;
}

export interface DatabaseConfig {
  /** Set when `DATABASE_URL` is set (then `kind` is `postgres`). */
  url?: Secret;
  kind: 'postgres' | 'pglite';
  pgliteDir: string;
  /** Absolute path of the migrations folder. */
  migrationsDir: string;
}

export interface AuditConfig {
  /** Store prompt and answer text (masked); metadata is always stored. */
  storeText: boolean;
  /** HMAC keys from `AUDIT_SIGNING_KEY_FILE`: the first signs, all verify. Empty: nothing is signed. */
  signingKeys: Secret[];
  /** Records older than this many days are purged (0: kept forever). */
  retentionDays: number;
  checkpointIntervalMs: number;
  /** Group commit: most events per transaction, and how long a batch may wait to fill (0: never). */
  batch: { maxSize: number; maxWaitMs: number };
  /** A batch not committed within this is failed (the callers get 503 audit_unavailable). */
  writeTimeoutMs: number;
  /**
   * The sequencer: how often each replica tries to seal, most events per sealing transaction, and
   * how long an event may stay recorded but unsealed before verification fails.
   */
  seal: { intervalMs: number; batchSize: number; maxLagMs: number };
}

export interface IdempotencyConfig {
  /** How long a completed request's Idempotency-Key is remembered. */
  ttlMs: number;
  /** Cap on remembered keys in the in-process store (ignored with Redis). */
  maxKeys: number;
}

export interface GatewayConfig {
  app: AppConfig;
  dify: DifyConfig;
  database: DatabaseConfig;
  audit: AuditConfig;
  idempotency: IdempotencyConfig;
  keys: KeysConfig;
  redis: RedisConfig;
  tracing: TracingConfig;
  /** Audit sinks (SIEM push) and alert webhooks. */
  sinks: SinksConfig;
}
