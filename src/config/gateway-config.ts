/**
 * The typed gateway configuration. `loadGatewayConfig(env)` is a pure builder: it resolves
 * secret files, validates every variable and the apps file, throws one `ConfigValidationError`
 * listing every problem, and caches nothing (tests call it with fake environments).
 * `gatewayConfig()` at the bottom is the process's memoized config, built from `process.env`.
 */
import { checkEnvironment, ConfigValidationError, SECRET_FILE_VARIABLES, type ConfigIssue } from './env.schema.js';
import { readSigningKeys } from './audit-signing-keys.js';
import { collectSinks } from './audit-sinks.js';
import { collectDifyApps } from './dify-apps.js';
import { collectSecretFiles } from './secret-file.js';
import { tracingOf } from './tracing-settings.js';
import { withoutUnused, type LoadOptions } from './unused-parts.js';

export { SECRET_FILE_VARIABLES, type LogLevel } from './env.schema.js';
export type { TracingConfig } from './tracing-settings.js';
export type { DifyAppConfig } from './dify-apps.js';
export type * from './config-types.js';
import type { GatewayConfig } from './config-types.js';

/** The alias under which the knowledge (dataset) API target appears in logs and audit rows. */
export const DATASETS_TARGET_ALIAS = 'datasets';

/** Sockets left for the calls that take no bulkhead slot: readiness probes and stop calls. */
const UNSLOTTED_SOCKETS = 16;

/**
 * The socket cap when DIFY_MAX_SOCKETS is unset: every app on the busiest Dify origin may fill
 * its bulkhead at once (the pool is per origin, the bulkhead per app), plus room for probes.
 */
function derivedMaxSockets(maxConcurrentCalls: number, targets: readonly { baseUrl: string }[]): number {
  const perOrigin = new Map<string, number>();
  for (const { baseUrl } of targets) {
    const origin = new URL(baseUrl).origin;
    perOrigin.set(origin, (perOrigin.get(origin) ?? 0) + 1);
  }
  return maxConcurrentCalls * Math.max(1, ...perOrigin.values()) + UNSLOTTED_SOCKETS;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * Builds the typed config from an environment (pass `process.env`, or a fake one in tests).
 * Reads only the files the environment names. Throws `ConfigValidationError`.
 */
export function loadGatewayConfig(env: Record<string, string | undefined>, options: LoadOptions = {}): GatewayConfig {
  const noDify = options.unused?.includes('dify') ?? false;
  const files = collectSecretFiles(withoutUnused(env, options.unused ?? []), SECRET_FILE_VARIABLES);
  const checked = checkEnvironment(files.env);
  const v = checked.env;

  // A variable whose _FILE failed is unset now; don't report it a second time as "required".
  const reported = new Set(files.issues.flatMap((issue) => [issue.variable, issue.variable.replace(/_FILE$/, ''), ...(issue.related ?? [])]));
  const issues: ConfigIssue[] = [
    ...files.issues,
    // Without Dify, the one DIFY_API_KEY issue left is "required": not here.
    ...checked.issues.filter((issue) => !reported.has(issue.variable) && !(noDify && issue.variable === 'DIFY_API_KEY')),
  ];
  const invalid = new Set(issues.map((issue) => issue.variable));

  const dify = collectDifyApps({
    appsFile: invalid.has('DIFY_APPS_FILE') ? undefined : v.DIFY_APPS_FILE,
    envKey: invalid.has('DIFY_API_KEY') ? undefined : v.DIFY_API_KEY,
    baseUrl: invalid.has('DIFY_BASE_URL') ? undefined : v.DIFY_BASE_URL,
    allowInsecureHttp: invalid.has('DIFY_ALLOW_INSECURE_HTTP') ? undefined : v.DIFY_ALLOW_INSECURE_HTTP,
    env: files.env,
  });
  issues.push(...dify.issues);
  const signing = readSigningKeys(invalid.has('AUDIT_SIGNING_KEY_FILE') ? undefined : v.AUDIT_SIGNING_KEY_FILE);
  issues.push(...signing.issues);
  const sinks = collectSinks(env);
  issues.push(...sinks.issues);

  if (issues.length > 0) throw new ConfigValidationError(issues);
  if (!noDify && (dify.defaultApp === undefined || !(dify.defaultApp in dify.apps))) {
    // Unreachable when the checks above pass; kept so a future change cannot boot without apps.
    throw new ConfigValidationError([{ variable: 'DIFY_API_KEY', reason: 'required: set DIFY_API_KEY, DIFY_API_KEY_FILE or DIFY_APPS_FILE' }]);
  }

  return deepFreeze<GatewayConfig>({
    app: {
      port: v.PORT,
      host: v.HOST,
      logLevel: v.LOG_LEVEL,
      logJson: v.LOG_FORMAT === 'json',
      shutdownDrainMs: v.SHUTDOWN_DRAIN_MS,
      trustProxy: v.TRUST_PROXY,
    },
    dify: {
      apps: dify.apps,
      defaultApp: dify.defaultApp ?? '',
      allowInsecureHttp: v.DIFY_ALLOW_INSECURE_HTTP,
      timeouts: {
        connectMs: v.DIFY_CONNECT_TIMEOUT_MS,
        firstByteMs: v.DIFY_FIRST_BYTE_TIMEOUT_MS,
        streamIdleMs: v.DIFY_STREAM_IDLE_TIMEOUT_MS,
        maxCallMs: v.DIFY_MAX_CALL_MS,
      },
      retry: {
        maxRetries: v.DIFY_MAX_RETRIES,
        baseDelayMs: v.DIFY_RETRY_BASE_DELAY_MS,
        maxDelayMs: v.DIFY_RETRY_MAX_DELAY_MS,
        maxRetryAfterMs: v.DIFY_RETRY_AFTER_MAX_MS,
      },
      maxConcurrentCalls: v.DIFY_MAX_CONCURRENT_CALLS,
      maxSockets:
        v.DIFY_MAX_SOCKETS ??
        derivedMaxSockets(v.DIFY_MAX_CONCURRENT_CALLS, [
          ...Object.values(dify.apps),
          ...(v.DIFY_DATASET_API_KEY ? [{ baseUrl: v.DIFY_DATASET_BASE_URL ?? v.DIFY_BASE_URL }] : []),
        ]),
      breaker: {
        failureRatio: v.DIFY_BREAKER_FAILURE_PERCENT / 100,
        windowMs: v.DIFY_BREAKER_WINDOW_MS,
        minCalls: v.DIFY_BREAKER_MIN_CALLS,
        openMs: v.DIFY_BREAKER_OPEN_MS,
      },
      readyProbe: {
        cacheMs: v.DIFY_READY_CACHE_MS,
        failuresBeforeDown: v.DIFY_READY_FAILURES,
        required: v.DIFY_READY_REQUIRED,
      },
      ...(v.DIFY_DATASET_API_KEY
        ? {
            datasets: {
              alias: DATASETS_TARGET_ALIAS,
              baseUrl: v.DIFY_DATASET_BASE_URL ?? v.DIFY_BASE_URL,
              apiKey: v.DIFY_DATASET_API_KEY,
            },
          }
        : {}),
      reloadMs: noDify ? 0 : v.DIFY_KEYS_RELOAD_MS, // nothing to reload
    },
    database: {
      ...(v.DATABASE_URL ? { url: v.DATABASE_URL } : {}),
      kind: v.DATABASE_URL ? 'postgres' : 'pglite',
      pgliteDir: v.PGLITE_DIR,
      migrationsDir: v.MIGRATIONS_DIR,
    },
    audit: {
      storeText: v.AUDIT_STORE_TEXT,
      signingKeys: signing.keys,
      retentionDays: v.AUDIT_RETENTION_DAYS,
      checkpointIntervalMs: v.AUDIT_CHECKPOINT_INTERVAL_MS,
      batch: { maxSize: v.AUDIT_BATCH_MAX_SIZE, maxWaitMs: v.AUDIT_BATCH_MAX_WAIT_MS },
      writeTimeoutMs: v.AUDIT_WRITE_TIMEOUT_MS,
      seal: { intervalMs: v.AUDIT_SEAL_INTERVAL_MS, batchSize: v.AUDIT_SEAL_BATCH_MAX, maxLagMs: v.AUDIT_SEAL_MAX_LAG_MS },
    },
    idempotency: { ttlMs: v.IDEMPOTENCY_TTL_MS, maxKeys: v.IDEMPOTENCY_MAX_KEYS },
    keys: {
      rotationGraceSeconds: v.KEY_ROTATION_GRACE_SECONDS,
      cacheTtlMs: v.KEY_CACHE_TTL_MS,
      lastUsedFlushMs: v.KEY_LAST_USED_FLUSH_MS,
      defaultLimits: {
        requestsPerMinute: v.KEY_DEFAULT_REQUESTS_PER_MINUTE,
        concurrentStreams: v.KEY_DEFAULT_CONCURRENT_STREAMS,
        dailyTokens: v.KEY_DEFAULT_DAILY_TOKENS,
      },
    },
    redis: {
      ...(v.REDIS_URL ? { url: v.REDIS_URL } : {}),
      keyPrefix: v.REDIS_KEY_PREFIX,
    },
    tracing: tracingOf(v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? v.OTEL_EXPORTER_OTLP_ENDPOINT, v.OTEL_SDK_DISABLED),
    sinks: sinks.config,
  });
}

// ---------------------------------------------------------------------------------------------
// The process's config: the one place in the gateway that reads `process.env`.

let cached: GatewayConfig | undefined;
let processOptions: LoadOptions = {};

/**
 * The validated config of this process, computed from `process.env` on first use and then
 * reused. Throws `ConfigValidationError` (and caches nothing) when the environment is invalid.
 */
export function gatewayConfig(): GatewayConfig {
  cached ??= loadGatewayConfig(process.env, processOptions);
  return cached;
}

/** What this process does not use (the CLI, per command); call before anything reads the config. */
export function configureGatewayConfig(options: LoadOptions): void {
  processOptions = options;
  cached = undefined;
}

/** Forgets the cached config, so the next `gatewayConfig()` reads `process.env` again. Tests only. */
export function resetGatewayConfigForTests(): void {
  cached = undefined;
}

/**
 * Replaces this process's config with `change(current)`, for a value the environment rightly
 * refuses but a test needs (an idle timeout shorter than Dify's ping, not to wait 10 s). Tests only.
 */
export function setGatewayConfigForTests(change: (cfg: GatewayConfig) => GatewayConfig): void {
  cached = deepFreeze(change(gatewayConfig()));
}
