/**
 * The typed gateway configuration. `loadGatewayConfig(env)` is a pure builder: it resolves
 * secret files, validates every variable and the apps file, throws one `ConfigValidationError`
 * listing every problem, and caches nothing (tests call it with fake environments).
 * `gatewayConfig()` at the bottom is the process's memoized config, built from `process.env`.
 */
import { checkEnvironment, ConfigValidationError, type ConfigIssue, type LogLevel } from './env.schema.js';
import { readSigningKeys } from './audit-signing-keys.js';
import { collectDifyApps } from './dify-apps.js';
import { Secret } from './secret.js';
import { collectSecretFiles } from './secret-file.js';

export type { LogLevel } from './env.schema.js';

export interface DifyAppConfig {
  alias: string;
  /** Absolute http(s) URL without trailing `/`, credentials, query or fragment. */
  baseUrl: string;
  apiKey: Secret;
}

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
  /** At least one app; a null-prototype object, so `apps['toString']` is undefined. */
  apps: Record<string, DifyAppConfig>;
  /** The alias used when a caller names no app. Always a key of `apps`. */
  defaultApp: string;
  allowInsecureHttp: boolean;
  timeouts: { connectMs: number; firstByteMs: number; streamIdleMs: number; maxCallMs: number };
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number };
  readyProbe: { cacheMs: number; failuresBeforeDown: number; required: boolean };
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
}

export interface GatewayConfig {
  app: AppConfig;
  dify: DifyConfig;
  database: DatabaseConfig;
  audit: AuditConfig;
}

/** Variables that may also be given as `<NAME>_FILE` (a mounted secret). */
export const SECRET_FILE_VARIABLES = ['DIFY_API_KEY', 'DATABASE_URL'] as const;

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
export function loadGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const files = collectSecretFiles(env, SECRET_FILE_VARIABLES);
  const checked = checkEnvironment(files.env);
  const v = checked.env;

  // A variable whose _FILE failed is unset now; don't report it a second time as "required".
  const reported = new Set(
    files.issues.flatMap((issue) => [issue.variable, issue.variable.replace(/_FILE$/, ''), ...(issue.related ?? [])]),
  );
  const issues: ConfigIssue[] = [
    ...files.issues,
    ...checked.issues.filter((issue) => !reported.has(issue.variable)),
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

  if (issues.length > 0) throw new ConfigValidationError(issues);
  if (dify.defaultApp === undefined || !(dify.defaultApp in dify.apps)) {
    // Unreachable when the checks above pass; kept so a future change cannot boot without apps.
    throw new ConfigValidationError([
      { variable: 'DIFY_API_KEY', reason: 'required: set DIFY_API_KEY, DIFY_API_KEY_FILE or DIFY_APPS_FILE' },
    ]);
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
      defaultApp: dify.defaultApp,
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
      readyProbe: {
        cacheMs: v.DIFY_READY_CACHE_MS,
        failuresBeforeDown: v.DIFY_READY_FAILURES,
        required: v.DIFY_READY_REQUIRED,
      },
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
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The process's config: the one place in the gateway that reads `process.env`.

let cached: GatewayConfig | undefined;

/**
 * The validated config of this process, computed from `process.env` on first use and then
 * reused. Throws `ConfigValidationError` (and caches nothing) when the environment is invalid.
 */
export function gatewayConfig(): GatewayConfig {
  cached ??= loadGatewayConfig(process.env);
  return cached;
}

/** Forgets the cached config, so the next `gatewayConfig()` reads `process.env` again. Tests only. */
export function resetGatewayConfigForTests(): void {
  cached = undefined;
}
