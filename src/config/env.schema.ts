/**
 * The environment schema: every variable the gateway reads, its parser, default and rule.
 * `validateEnvironment` checks the whole (flat) environment at once and throws one
 * `ConfigValidationError` that names every bad variable with a short reason, never a value.
 * Secret files (`X_FILE`) and the Dify apps file are resolved by `gateway-config.ts` around it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Expose, plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateBy, validateSync } from 'class-validator';
import { Secret } from './secret.js';

// ---------------------------------------------------------------------------------------------
// Errors

/** One bad or missing variable and a short reason. A reason never contains a variable's value. */
export interface ConfigIssue {
  variable: string;
  reason: string;
  /** Other variables the same problem involves (for instance `X` and `X_FILE` both set). */
  related?: readonly string[];
}

/**
 * Thrown at boot when the environment is invalid. The message names every bad variable with a
 * short reason, for example `Invalid configuration: DIFY_BASE_URL (must be an https:// URL; set
 * DIFY_ALLOW_INSECURE_HTTP=true for plain http), PORT (must be an integer between 1 and 65535)`,
 * and never contains a value.
 */
export class ConfigValidationError extends Error {
  /** Every variable involved, each once, in message order. */
  readonly variables: string[];
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = sortIssues(issues);
    const reasons = new Map<string, string[]>();
    for (const issue of sorted) {
      const list = reasons.get(issue.variable) ?? [];
      if (!list.includes(issue.reason)) list.push(issue.reason);
      reasons.set(issue.variable, list);
    }
    const parts = [...reasons].map(([variable, list]) => `${variable} (${list.join('; ')})`);
    super(`Invalid configuration: ${parts.length > 0 ? parts.join(', ') : 'unknown problem'}`);
    this.name = 'ConfigValidationError';
    this.issues = Object.freeze(sorted);
    const variables: string[] = [];
    for (const issue of sorted) {
      for (const name of [issue.variable, ...(issue.related ?? [])]) {
        if (!variables.includes(name)) variables.push(name);
      }
    }
    this.variables = variables;
  }
}

/** Every variable the gateway reads, in documentation order (`.env.example` follows it). */
export const ENV_VARIABLES = [
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_DRAIN_MS',
  'TRUST_PROXY',
  'DIFY_BASE_URL',
  'DIFY_API_KEY',
  'DIFY_API_KEY_FILE',
  'DIFY_APPS_FILE',
  'DIFY_DATASET_API_KEY',
  'DIFY_DATASET_API_KEY_FILE',
  'DIFY_DATASET_BASE_URL',
  'DIFY_KEYS_RELOAD_MS',
  'DIFY_ALLOW_INSECURE_HTTP',
  'DIFY_CONNECT_TIMEOUT_MS',
  'DIFY_FIRST_BYTE_TIMEOUT_MS',
  'DIFY_STREAM_IDLE_TIMEOUT_MS',
  'DIFY_MAX_CALL_MS',
  'DIFY_MAX_RETRIES',
  'DIFY_RETRY_BASE_DELAY_MS',
  'DIFY_RETRY_MAX_DELAY_MS',
  'DIFY_RETRY_AFTER_MAX_MS',
  'DIFY_MAX_CONCURRENT_CALLS',
  'DIFY_MAX_SOCKETS',
  'DIFY_BREAKER_FAILURE_PERCENT',
  'DIFY_BREAKER_WINDOW_MS',
  'DIFY_BREAKER_MIN_CALLS',
  'DIFY_BREAKER_OPEN_MS',
  'DIFY_READY_CACHE_MS',
  'DIFY_READY_FAILURES',
  'DIFY_READY_REQUIRED',
  'DATABASE_URL',
  'DATABASE_URL_FILE',
  'PGLITE_DIR',
  'MIGRATIONS_DIR',
  'AUDIT_SIGNING_KEY_FILE',
  'AUDIT_RETENTION_DAYS',
  'AUDIT_CHECKPOINT_INTERVAL_MS',
  'AUDIT_BATCH_MAX_SIZE',
  'AUDIT_BATCH_MAX_WAIT_MS',
  'AUDIT_WRITE_TIMEOUT_MS',
  'AUDIT_STORE_TEXT',
  'AUDIT_SEAL_INTERVAL_MS',
  'AUDIT_SEAL_BATCH_MAX',
  'AUDIT_SEAL_MAX_LAG_MS',
  'AUDIT_SINKS',
  'ALERT_WEBHOOK_URL',
  'ALERT_HMAC_KEY',
  'ALERT_HMAC_KEY_FILE',
  'ALERT_SINK_LAG_EVENTS',
  'ALERT_KEY_EXPIRY_DAYS',
  'ALERT_CHECK_INTERVAL_MS',
  'IDEMPOTENCY_TTL_MS',
  'IDEMPOTENCY_MAX_KEYS',
  'REDIS_URL',
  'REDIS_URL_FILE',
  'REDIS_KEY_PREFIX',
  'KEY_ROTATION_GRACE_SECONDS',
  'KEY_CACHE_TTL_MS',
  'KEY_LAST_USED_FLUSH_MS',
  'KEY_DEFAULT_REQUESTS_PER_MINUTE',
  'KEY_DEFAULT_CONCURRENT_STREAMS',
  'KEY_DEFAULT_DAILY_TOKENS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_SDK_DISABLED',
] as const;

function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const order = (name: string): number => {
    const index = (ENV_VARIABLES as readonly string[]).indexOf(name);
    return index === -1 ? ENV_VARIABLES.length : index;
  };
  return [...issues].sort((a, b) => order(a.variable) - order(b.variable));
}

// ---------------------------------------------------------------------------------------------
// Shared checks (also used for the apps file)

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Dify's stream sends a `ping` event every 10 s; a shorter idle timeout would cut healthy streams. */
export const MIN_STREAM_IDLE_TIMEOUT_MS = 10_001;
export const DEFAULT_DIFY_BASE_URL = 'https://api.dify.ai/v1';

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

/** `true/false/1/0/yes/no`, case-insensitive; anything else is returned unchanged (and fails validation). */
export function parseBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return value;
}

/** Decimal integers only (`1e3`, `1.5`, `15_000`, `10s` stay strings and fail validation). */
export function parseInteger(value: unknown): unknown {
  if (typeof value !== 'string' || !/^[+-]?\d+$/.test(value.trim())) return value;
  const parsed = Number(value.trim());
  return Number.isSafeInteger(parsed) ? parsed : value;
}

/** An API key goes into an HTTP header: printable ASCII, no spaces. */
export function isHeaderSafeSecret(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

/** The fake values of `.env.example` (`app-REPLACE_ME`) must not reach Dify. */
export function isPlaceholder(value: string): boolean {
  return value.includes('REPLACE_ME');
}

export const PLACEHOLDER_REASON = 'is still the .env.example placeholder';

/** A secret that may hold any character except whitespace and control characters. */
function hasNoWhitespaceOrControl(value: string): boolean {
  return value.length > 0 && !/[\s\x00-\x1f\x7f]/u.test(value);
}

export type BaseUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

export const INSECURE_HTTP_REASON =
  'must be an https:// URL; set DIFY_ALLOW_INSECURE_HTTP=true for plain http';

/**
 * Checks a Dify base URL: absolute http(s), no credentials, no query or fragment, and https
 * unless `allowInsecureHttp`. Returns it without trailing `/`. Reasons never echo the value.
 * Pass `allowInsecureHttp: undefined` to skip the https rule (when the flag itself is invalid).
 */
export function checkBaseUrl(raw: string, allowInsecureHttp: boolean | undefined): BaseUrlCheck {
  if (!/^https?:\/\/[^/]/i.test(raw)) return { ok: false, reason: 'must be an absolute http(s) URL' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (!url.hostname) return { ok: false, reason: 'must be an absolute http(s) URL' };
  const authority = raw.slice(raw.indexOf('//') + 2).split(/[/?#\\]/)[0] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) {
    return { ok: false, reason: 'must not contain credentials' };
  }
  if (raw.includes('?') || raw.includes('#')) {
    return { ok: false, reason: 'must not contain a query or fragment' };
  }
  if (url.protocol === 'http:' && allowInsecureHttp === false) {
    return { ok: false, reason: INSECURE_HTTP_REASON };
  }
  return { ok: true, url: url.href.replace(/\/+$/, '') };
}

/** A URL with one of `schemes`, parseable, no whitespace; else `reason` (never the value). */
function checkUrl(raw: string, schemes: RegExp, reason: string): string | undefined {
  if (!schemes.test(raw) || !hasNoWhitespaceOrControl(raw)) return reason;
  try {
    new URL(raw);
  } catch {
    return reason;
  }
  return undefined;
}

/** `redis://` or `rediss://`, parseable, no whitespace. Reasons never echo the value. */
export function checkRedisUrl(raw: string): string | undefined {
  return checkUrl(raw, /^rediss?:\/\//i, 'must be a redis:// or rediss:// URL');
}

/** `postgresql://` or `postgres://`, parseable, no whitespace. Reasons never echo the value. */
export function checkDatabaseUrl(raw: string): string | undefined {
  return checkUrl(raw, /^postgres(?:ql)?:\/\//i, 'must be a postgresql:// or postgres:// URL');
}

// ---------------------------------------------------------------------------------------------
// Default migrations folder

let packageRoot: string | undefined;

/**
 * The folder that holds this package's `package.json`, found by walking up from this file, so it
 * is the same from `src/config` (jest, tsx) and `dist/config` (production). A `package.json`
 * without a `name` (such as a `{"type":"module"}` marker inside `dist/`) is skipped.
 */
export function findPackageRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown };
        if (typeof pkg.name === 'string' && pkg.name !== '') return dir;
      } catch {
        // not a usable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** `<package root>/prisma/migrations`, absolute. */
export function defaultMigrationsDir(): string {
  packageRoot ??= findPackageRoot();
  return join(packageRoot, 'prisma', 'migrations');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Decorator helpers: each variable gets its parser and one short, value-free reason

function compose(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (const decorate of decorators) decorate(target, key);
  };
}

function Int(min: number, max: number): PropertyDecorator {
  const message = `must be an integer between ${min} and ${max}`;
  return compose(
    Expose(),
    Transform(({ value }) => parseInteger(value)),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

function Bool(): PropertyDecorator {
  return compose(
    Expose(),
    Transform(({ value }) => parseBoolean(value)),
    IsBoolean({ message: 'must be true, false, 1, 0, yes or no' }),
  );
}

function OneOf(values: readonly string[]): PropertyDecorator {
  return compose(
    Expose(),
    Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value)),
    IsIn([...values], { message: `must be one of ${values.join(', ')}` }),
  );
}

/** A custom rule: `check` returns a reason (never containing the value) or undefined when fine. */
function Rule(
  name: string,
  check: (value: unknown, env: EnvironmentVariables) => string | undefined,
): PropertyDecorator {
  return ValidateBy({
    name,
    validator: {
      validate: (value: unknown, args) => check(value, args?.object as EnvironmentVariables) === undefined,
      defaultMessage: (args) =>
        (args && check(args.value, args.object as EnvironmentVariables)) ?? 'is invalid',
    },
  });
}

/** Secret variables are wrapped as soon as they are parsed, so no plain copy is ever held here. */
function toSecret({ value }: { value: unknown }): unknown {
  return typeof value === 'string' ? new Secret(value) : value;
}

/** Runs `check` only when the other variables it compares with hold valid numbers. */
function notAbove(other: keyof EnvironmentVariables): (value: unknown, env: EnvironmentVariables) => string | undefined {
  return (value, env) => {
    const limit = env[other];
    if (typeof value !== 'number' || typeof limit !== 'number') return undefined;
    return value > limit ? `must not exceed ${String(other)}` : undefined;
  };
}

function notBelow(other: keyof EnvironmentVariables): (value: unknown, env: EnvironmentVariables) => string | undefined {
  return (value, env) => {
    const floor = env[other];
    if (typeof value !== 'number' || typeof floor !== 'number') return undefined;
    return value < floor ? `must be at least ${String(other)}` : undefined;
  };
}

/** A Dify base URL: normalized (no trailing `/`), https unless DIFY_ALLOW_INSECURE_HTTP. */
function DifyBaseUrl(name: string, optional: boolean): PropertyDecorator {
  return compose(
    Expose(),
    Transform(({ value }) => {
      if (typeof value !== 'string') return value;
      const normalized = checkBaseUrl(value, undefined);
      return normalized.ok ? normalized.url : value;
    }),
    Rule(name, (value, env) => {
      if (value === undefined && optional) return undefined;
      if (typeof value !== 'string') return 'must be an absolute http(s) URL';
      const allow = typeof env.DIFY_ALLOW_INSECURE_HTTP === 'boolean' ? env.DIFY_ALLOW_INSECURE_HTTP : undefined;
      const result = checkBaseUrl(value, allow);
      return result.ok ? undefined : result.reason;
    }),
  );
}

/** A Dify key (app or knowledge): it goes into a header, and must not be the example's placeholder. */
function DifyKey(name: string): PropertyDecorator {
  return compose(
    Rule(`${name}Chars`, (value) =>
      value === undefined || (value instanceof Secret && isHeaderSafeSecret(value.reveal())) ? undefined : 'must be printable ASCII without spaces',
    ),
    Rule(`${name}NotPlaceholder`, (value) => (value instanceof Secret && isPlaceholder(value.reveal()) ? PLACEHOLDER_REASON : undefined)),
    Transform(toSecret),
  );
}

/** A secret URL (database, Redis) checked by `check`, which returns a value-free reason. */
function SecretUrl(name: string, check: (url: string) => string | undefined): PropertyDecorator {
  return compose(
    Expose(),
    Rule(name, (value) =>
      value === undefined
        ? undefined
        : !(value instanceof Secret)
          ? 'is invalid'
          : isPlaceholder(value.reveal())
            ? PLACEHOLDER_REASON
            : check(value.reveal()),
    ),
    Transform(toSecret),
  );
}

/** An OTLP/HTTP endpoint: an absolute http(s) URL (it may carry a path); unset is fine. */
function OtlpEndpoint(name: string): PropertyDecorator {
  return compose(
    Expose(),
    Rule(name, (value) => (value === undefined ? undefined : typeof value === 'string' ? checkUrl(value, /^https?:\/\/[^/]/i, 'must be an http(s) URL') : 'is invalid')),
  );
}

// ---------------------------------------------------------------------------------------------
// The schema

/**
 * The flat environment, parsed and with defaults. Secret variables are `Secret`s from the start,
 * so even this intermediate object prints `***` for them.
 */
export class EnvironmentVariables {
  @Int(1, 65535)
  PORT: number = 3000;

  @Expose()
  @Rule('host', (value) =>
    typeof value === 'string' && /^[^\s/]+$/.test(value) ? undefined : 'must be a host name or address',
  )
  HOST: string = '0.0.0.0';

  @OneOf(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'log';

  @OneOf(LOG_FORMATS)
  LOG_FORMAT: LogFormat = 'json';

  @Int(0, 600_000)
  SHUTDOWN_DRAIN_MS: number = 15_000;

  @Bool()
  TRUST_PROXY: boolean = false;

  @DifyBaseUrl('difyBaseUrl', false)
  DIFY_BASE_URL: string = DEFAULT_DIFY_BASE_URL;

  @Expose()
  @Rule('difyKeyPresent', (value, env) =>
    value === undefined && env.DIFY_APPS_FILE === undefined
      ? 'required: set DIFY_API_KEY, DIFY_API_KEY_FILE or DIFY_APPS_FILE'
      : undefined,
  )
  @DifyKey('difyKey')
  DIFY_API_KEY?: Secret;

  @Expose()
  DIFY_APPS_FILE?: string;

  /** The knowledge (dataset) key, for the `/v1/datasets` routes; optional. */
  @Expose()
  @DifyKey('datasetKey')
  DIFY_DATASET_API_KEY?: Secret;

  /** Base URL for the knowledge API; defaults to DIFY_BASE_URL. */
  @DifyBaseUrl('difyDatasetBaseUrl', true)
  DIFY_DATASET_BASE_URL?: string;

  /** How often (ms) mounted Dify key files and the apps file are re-read; 0 turns reloading off. */
  @Int(0, 3_600_000)
  DIFY_KEYS_RELOAD_MS: number = 5_000;

  @Bool()
  DIFY_ALLOW_INSECURE_HTTP: boolean = false;

  @Int(1, 600_000)
  DIFY_CONNECT_TIMEOUT_MS: number = 5_000;

  @Int(1, 3_600_000)
  @Rule('firstByteWithinMaxCall', notAbove('DIFY_MAX_CALL_MS'))
  DIFY_FIRST_BYTE_TIMEOUT_MS: number = 120_000;

  @Int(MIN_STREAM_IDLE_TIMEOUT_MS, 3_600_000)
  DIFY_STREAM_IDLE_TIMEOUT_MS: number = 60_000;

  @Int(1, 86_400_000)
  DIFY_MAX_CALL_MS: number = 1_200_000;

  @Int(0, 10)
  DIFY_MAX_RETRIES: number = 2;

  @Int(0, 60_000)
  @Rule('baseDelayWithinMaxDelay', notAbove('DIFY_RETRY_MAX_DELAY_MS'))
  DIFY_RETRY_BASE_DELAY_MS: number = 200;

  @Int(0, 600_000)
  DIFY_RETRY_MAX_DELAY_MS: number = 5_000;

  @Int(0, 3_600_000)
  DIFY_RETRY_AFTER_MAX_MS: number = 10_000;

  @Int(1, 100_000)
  DIFY_MAX_CONCURRENT_CALLS: number = 100;

  /** Sockets per Dify origin; unset: derived from the bulkhead (gateway-config.ts). */
  @IsOptional()
  @Int(1, 1_000_000)
  @Rule('socketsCoverBulkhead', notBelow('DIFY_MAX_CONCURRENT_CALLS'))
  DIFY_MAX_SOCKETS?: number;

  @Int(0, 99)
  DIFY_BREAKER_FAILURE_PERCENT: number = 50;

  @Int(1_000, 3_600_000)
  DIFY_BREAKER_WINDOW_MS: number = 30_000;

  @Int(1, 100_000)
  DIFY_BREAKER_MIN_CALLS: number = 10;

  @Int(100, 3_600_000)
  DIFY_BREAKER_OPEN_MS: number = 15_000;

  @Int(0, 3_600_000)
  DIFY_READY_CACHE_MS: number = 15_000;

  @Int(1, 100)
  DIFY_READY_FAILURES: number = 3;

  @Bool()
  DIFY_READY_REQUIRED: boolean = true;

  @SecretUrl('databaseUrl', checkDatabaseUrl)
  DATABASE_URL?: Secret;

  @Expose()
  PGLITE_DIR: string = './data/pglite';

  @Expose()
  @Transform(({ value }) => (typeof value === 'string' ? resolve(value) : value))
  @Rule('migrationsDir', (value) =>
    typeof value === 'string' && isDirectory(value) ? undefined : 'must be an existing directory',
  )
  MIGRATIONS_DIR: string = defaultMigrationsDir();

  /** Read by `gateway-config.ts` (one key per line; the first signs). */
  @Expose()
  AUDIT_SIGNING_KEY_FILE?: string;

  /** 0 keeps every record forever. */
  @Int(0, 36_500)
  AUDIT_RETENTION_DAYS: number = 0;

  @Int(1_000, 86_400_000)
  AUDIT_CHECKPOINT_INTERVAL_MS: number = 60_000;

  @Int(1, 5_000)
  AUDIT_BATCH_MAX_SIZE: number = 256;

  @Int(0, 1_000)
  AUDIT_BATCH_MAX_WAIT_MS: number = 0;

  @Int(100, 60_000)
  AUDIT_WRITE_TIMEOUT_MS: number = 5_000;

  @Bool()
  AUDIT_STORE_TEXT: boolean = false;

  @Int(10, 60_000)
  AUDIT_SEAL_INTERVAL_MS: number = 100;

  @Int(1, 50_000)
  AUDIT_SEAL_BATCH_MAX: number = 5_000;

  /** An event recorded and not sealed for longer fails verification. */
  @Int(1_000, 86_400_000)
  AUDIT_SEAL_MAX_LAG_MS: number = 60_000;

  @Int(1_000, 604_800_000)
  IDEMPOTENCY_TTL_MS: number = 3_600_000;

  @Int(100, 10_000_000)
  IDEMPOTENCY_MAX_KEYS: number = 100_000;

  @SecretUrl('redisUrl', checkRedisUrl)
  REDIS_URL?: Secret;

  @Expose()
  @Rule('redisKeyPrefix', (value) =>
    typeof value === 'string' && /^[A-Za-z0-9:_.-]{1,64}$/.test(value) ? undefined : 'must be 1-64 letters, digits or : _ . -',
  )
  REDIS_KEY_PREFIX: string = 'dify-gateway:';

  /** How long the old secret keeps working after `rotate`, unless the rotation says otherwise. */
  @Int(0, 30 * 86_400)
  KEY_ROTATION_GRACE_SECONDS: number = 86_400;

  /** How long a replica reuses a key it looked up; revocations also arrive over Redis. */
  @Int(0, 3_600_000)
  KEY_CACHE_TTL_MS: number = 30_000;

  /** How often last-use times are written to the database (one batch per interval). */
  @Int(1_000, 3_600_000)
  KEY_LAST_USED_FLUSH_MS: number = 60_000;

  /** Limits of a key that sets none of its own; 0 means no limit. */
  @Int(0, 1_000_000)
  KEY_DEFAULT_REQUESTS_PER_MINUTE: number = 600;

  @Int(0, 100_000)
  KEY_DEFAULT_CONCURRENT_STREAMS: number = 20;

  @Int(0, 2_000_000_000)
  KEY_DEFAULT_DAILY_TOKENS: number = 0;

  /**
   * Tracing is on when either OTLP endpoint is set (the standard variables, read again by the
   * OpenTelemetry SDK itself with the other OTEL_* ones); checked here so a typo fails at boot.
   */
  @OtlpEndpoint('otlpEndpoint')
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @OtlpEndpoint('otlpTracesEndpoint')
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  @Bool()
  OTEL_SDK_DISABLED: boolean = false;
}

const SCHEMA_KEYS = ENV_VARIABLES.filter(
  (name) => !name.endsWith('_FILE') || name === 'DIFY_APPS_FILE' || name === 'AUDIT_SIGNING_KEY_FILE',
);

/**
 * Parses and checks the flat environment. Returns the parsed variables (valid or not) and every
 * issue; `validateEnvironment` is the throwing form. Empty or blank values count as unset.
 */
export function checkEnvironment(raw: Record<string, string | undefined>): {
  env: EnvironmentVariables;
  issues: ConfigIssue[];
} {
  const plain: Record<string, string> = {};
  for (const key of SCHEMA_KEYS) {
    const value = raw[key];
    if (typeof value === 'string' && value.trim() !== '') plain[key] = value.trim();
  }
  const env = plainToInstance(EnvironmentVariables, plain, {
    excludeExtraneousValues: true,
    exposeDefaultValues: true,
  });
  const errors = validateSync(env, {
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
  });
  const issues: ConfigIssue[] = [];
  for (const error of errors) {
    const reasons = [...new Set(Object.values(error.constraints ?? {}))];
    for (const reason of reasons.length > 0 ? reasons : ['is invalid']) {
      issues.push({ variable: error.property, reason });
    }
  }
  return { env, issues };
}

/**
 * Validates the flat environment (secret files already resolved) and returns it parsed, with
 * defaults. Throws `ConfigValidationError` naming every bad variable.
 */
export function validateEnvironment(raw: Record<string, string | undefined>): EnvironmentVariables {
  const { env, issues } = checkEnvironment(raw);
  if (issues.length > 0) throw new ConfigValidationError(issues);
  return env;
}
