/**
 * The environment: every variable the gateway reads is one row of a table in `env/`
 * (server.env.ts, dify.env.ts, storage.env.ts, keys.env.ts): name -> parser, default, doc, and an
 * optional `check` against other variables. `checkEnvironment` parses them all at once and reports
 * every bad variable with a short reason, never a value. Secret files (`X_FILE`) and the Dify apps
 * file are resolved by `gateway-config.ts` around it.
 *
 * To add a variable: add a row to the table of its concern, e.g.
 *   `DIFY_FOO_MS: withDefault(int(0, 60_000), '1000', 'What it does.'),`
 * (`optional(parser, doc)` when it has no default; `{ secretFile: true }` for a secret that may
 * come as `NAME_FILE`); map it into the typed config in gateway-config.ts; add it to `.env.example`
 * and to the README's table (env-example.spec.ts checks both).
 */
import type { ConfigIssue } from './config-error.js';
import { ConfigValidationError } from './config-error.js';
import type { EnvVar, ParsedEnv } from './env/parsers.js';
import { ENV_TABLE, type EnvironmentVariables } from './env/tables.js';

export { ConfigValidationError, type ConfigIssue } from './config-error.js';
export { checkBaseUrl, checkDatabaseUrl, checkRedisUrl, INSECURE_HTTP_REASON, isHeaderSafeSecret, isPlaceholder, PLACEHOLDER_REASON } from './env/checks.js';
export { DEFAULT_DIFY_BASE_URL, MIN_STREAM_IDLE_TIMEOUT_MS } from './env/dify.env.js';
export { parseBoolean, parseInteger } from './env/parsers.js';
export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './env/server.env.js';
export { ENV_TABLE, ENV_VARIABLES, SECRET_FILE_VARIABLES, type EnvironmentVariables } from './env/tables.js';
export { defaultMigrationsDir, findPackageRoot } from './package-root.js';

const ROWS = Object.entries(ENV_TABLE) as [string, EnvVar<unknown>][];

/**
 * Parses and checks the flat environment. Returns the parsed variables (valid or not) and every
 * issue; `validateEnvironment` is the throwing form. Empty or blank values count as unset.
 */
export function checkEnvironment(raw: Record<string, string | undefined>): { env: EnvironmentVariables; issues: ConfigIssue[] } {
  const env: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  const invalid = new Set<string>();
  for (const [name, spec] of ROWS) {
    const given = raw[name]?.trim();
    const value = given ? given : typeof spec.default === 'function' ? spec.default() : spec.default;
    env[name] = undefined;
    if (value === undefined) continue;
    const parsed = spec.parse(value);
    if ('value' in parsed) {
      env[name] = parsed.value;
      continue;
    }
    invalid.add(name);
    for (const reason of parsed.reasons) issues.push({ variable: name, reason });
  }
  // Rules between variables see only valid values, so one bad variable is reported once.
  for (const [name, spec] of ROWS) {
    const reason = invalid.has(name) ? undefined : spec.check?.(env[name], env as ParsedEnv);
    if (reason) issues.push({ variable: name, reason });
  }
  return { env: env as EnvironmentVariables, issues };
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
