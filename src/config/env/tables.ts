import { DIFY_ENV } from './dify.env.js';
import type { EnvVar } from './parsers.js';
import { SERVER_ENV } from './server.env.js';
import { STORAGE_ENV } from './storage.env.js';
import { KEYS_ENV } from './keys.env.js';
import { SINK_VARIABLES } from './sinks.env.js';
import { TRACING_ENV } from './tracing.env.js';

/** Every table, in documentation order (`.env.example` and the README follow it). */
export const ENV_TABLE = { ...SERVER_ENV, ...DIFY_ENV, ...STORAGE_ENV, ...KEYS_ENV, ...TRACING_ENV };
export type EnvName = keyof typeof ENV_TABLE;

/** The parsed environment: a variable with a default always has a value; secrets are `Secret`s. */
export type EnvironmentVariables = {
  -readonly [K in EnvName]: (typeof ENV_TABLE)[K] extends EnvVar<infer V, true>
    ? V
    : (typeof ENV_TABLE)[K] extends EnvVar<infer V, false>
      ? V | undefined
      : never;
};

const LAST_STORAGE_VARIABLE = Object.keys(STORAGE_ENV).at(-1);

/** Every variable the gateway reads, in documentation order: a secret's `_FILE` form follows it. */
export const ENV_VARIABLES: readonly string[] = Object.entries(ENV_TABLE as Record<string, EnvVar<unknown>>).flatMap(([name, spec]) => [
  ...(spec.secretFile ? [name, `${name}_FILE`] : [name]),
  // The sinks' variables (parsed apart, see sinks.env.ts) are documented after the audit's own.
  ...(name === LAST_STORAGE_VARIABLE ? SINK_VARIABLES : []),
]);

/** The variables whose value may come from a `NAME_FILE` (resolved by secret-file.ts before parsing). */
export const SECRET_FILE_VARIABLES = Object.entries(ENV_TABLE as Record<string, EnvVar<unknown>>)
  .filter(([, spec]) => spec.secretFile)
  .map(([name]) => name);
