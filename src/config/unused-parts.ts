/**
 * Parts of the environment a process does not use (the CLI's commands, see src/cli.ts): their
 * variables are not read at all, so a missing or unmounted secret there is no error. `dify`: no
 * app is configured (`dify.apps` is empty, `defaultApp` ''); `redis`: no Redis (`redis.url` unset).
 */
export type UnusedPart = 'dify' | 'redis';

export interface LoadOptions {
  unused?: readonly UnusedPart[];
}

const UNUSED_VARIABLES: Record<UnusedPart, readonly string[]> = {
  dify: ['DIFY_API_KEY', 'DIFY_API_KEY_FILE', 'DIFY_APPS_FILE', 'DIFY_DATASET_API_KEY', 'DIFY_DATASET_API_KEY_FILE'],
  redis: ['REDIS_URL', 'REDIS_URL_FILE'],
};

export function withoutUnused(env: Record<string, string | undefined>, unused: readonly UnusedPart[]): Record<string, string | undefined> {
  const drop = new Set(unused.flatMap((part) => UNUSED_VARIABLES[part]));
  return drop.size === 0 ? env : Object.fromEntries(Object.entries(env).filter(([name]) => !drop.has(name)));
}
