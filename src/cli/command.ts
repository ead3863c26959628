import type { INestApplicationContext, Type } from '@nestjs/common';

/** The CLI's exit codes (README, "CLI"; printed by `--help`). */
export const EXIT = {
  ok: 0,
  /** The command could not be done: database or Redis unreachable, invalid environment, audit write failed. */
  failure: 1,
  /** Wrong usage: unknown command or option, missing or invalid argument, input the gateway refuses (4xx). */
  usage: 2,
  /** `audit verify`: the log (or stream) does not verify: tampered with, or left unsealed. */
  verifyFailed: 3,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  failure: database or Redis unreachable, invalid environment, audit log unavailable
  2  usage: unknown command or option, missing or invalid argument, input refused
  3  verification failed: the audit log was tampered with, or left unsealed`;

/**
 * What a command needs from the gateway's configuration and modules:
 * - `none`: nothing (a file tool): no environment is read, no Nest context is made;
 * - `store`: the database and the audit log; no Dify key, no Redis (read-only, or audit upkeep);
 * - `redis`: the store and Redis, so that running gateways drop a changed key at once;
 * - `dify`: all of it, with the Dify apps (keys are bound to app aliases).
 */
export type CommandNeeds = 'none' | 'store' | 'redis' | 'dify';

export interface CliOption {
  /** commander's flags, e.g. `--status <status>`. */
  flags: string;
  description: string;
  choices?: readonly string[];
  /** Turns the raw value into the option's value; throws `UsageError` with a clear message. */
  parse?: (value: string) => unknown;
}

export interface CommandInput {
  /** The positional arguments, in the order of `args`. */
  args: string[];
  /** Parsed options, camelCased (`--daily-tokens` is `dailyTokens`). */
  options: Record<string, unknown>;
  json: boolean;
  /** The gateway's Nest context (absent for `needs: 'none'`). */
  get<T>(type: Type<T>): T;
  /** Prints the result: `value` as JSON under `--json`, `text` otherwise. */
  print(value: unknown, text: string): void;
}

/** One row of the CLI: `node dist/cli.js <group> <name> <args> [options]`. */
export interface CliCommand {
  group: string;
  name: string;
  /** commander's argument syntax, e.g. `<id>` or `<file>`. */
  args?: string;
  summary: string;
  /** Extra help text under the options. */
  details?: string;
  options?: readonly CliOption[];
  needs: CommandNeeds | ((options: Record<string, unknown>) => CommandNeeds);
  /** Resolves with the exit code (default 0). Throw `UsageError` or a `GatewayError` to refuse. */
  run(input: CommandInput): Promise<number | void>;
}

/** A usage mistake found by the CLI itself (exit code 2). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly code = 'invalid_param',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type GatewayContext = INestApplicationContext;

// ------------------------------------------------------------------ option value parsers
// Their messages say what is expected; commander names the option and the value before them.

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError('must be a whole number');
  return Number(value);
}

// A parser must not return null or undefined: commander turns those into ''. Hence 'default' and 'never' stay words.

/** A limit: a whole number, 0 for none, or `default` (the gateway's default; update only). */
export function limit(allowDefault: boolean): (value: string) => number | 'default' {
  return (value) => {
    if (allowDefault && value === 'default') return 'default';
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new UsageError(`must be a whole number (0: no limit)${allowDefault ? ' or "default"' : ''}`);
    }
    return Number(value);
  };
}

export function isoDate(allowNever: boolean): (value: string) => Date | 'never' {
  return (value) => {
    if (allowNever && value === 'never') return 'never';
    const parsed = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN);
    if (Number.isNaN(parsed.getTime())) throw new UsageError(`must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z${allowNever ? ' or "never"' : ''}`);
    return parsed;
  };
}

/** `a,b, c` → `['a', 'b', 'c']`. */
export function commaList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError('needs at least one value (comma-separated)');
  return items;
}

export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new UsageError('must not be empty');
  return value;
}
