/**
 * The parsers of the environment tables (`*.env.ts`). A parser gets a trimmed, non-empty value and
 * returns the parsed value or a short reason; a reason never contains the value.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Secret } from '../secret.js';
import { checkBaseUrl, isHeaderSafeSecret, isPlaceholder, PLACEHOLDER_REASON } from './checks.js';

export type Parsed<T> = { value: T } | { reasons: string[] };
export type Parser<T> = (raw: string) => Parsed<T>;
/** The parsed environment so far, for checks that compare variables. */
export type ParsedEnv = Readonly<Record<string, unknown>>;

/** One variable. `default` is a raw value, parsed like one that was set (so it is valid, and is what `.env.example` shows). */
export interface EnvVar<T, Defaulted extends boolean = boolean> {
  parse: Parser<T>;
  default?: string | (() => string);
  /** One line for `.env.example` and the README (what it does; the range is in the parser's reason). */
  doc: string;
  /** Also accepted as `NAME_FILE`, a mounted secret (src/config/secret-file.ts). */
  secretFile?: boolean;
  /** A rule involving other variables; runs when this one is unset or valid, with every valid one in `env`. */
  check?: (value: T | undefined, env: ParsedEnv) => string | undefined;
  /** Type-level only: whether the variable always has a value. */
  readonly defaulted?: Defaulted;
}

/** A variable with a default: always has a value. */
export function withDefault<T>(parse: Parser<T>, fallback: string | (() => string), doc: string, extra: Partial<EnvVar<T>> = {}): EnvVar<T, true> {
  return { ...extra, parse, default: fallback, doc } as EnvVar<T, true>;
}

/** A variable without a default: `undefined` when unset. */
export function optional<T>(parse: Parser<T>, doc: string, extra: Partial<EnvVar<T>> = {}): EnvVar<T, false> {
  return { ...extra, parse, doc } as EnvVar<T, false>;
}

const ok = <T>(value: T): Parsed<T> => ({ value });
const fail = (...reasons: string[]): Parsed<never> => ({ reasons });

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

export function int(min: number, max: number): Parser<number> {
  const reason = `must be an integer between ${min} and ${max}`;
  return (raw) => {
    const value = parseInteger(raw);
    return typeof value === 'number' && value >= min && value <= max ? ok(value) : fail(reason);
  };
}

export function bool(): Parser<boolean> {
  return (raw) => {
    const value = parseBoolean(raw);
    return typeof value === 'boolean' ? ok(value) : fail('must be true, false, 1, 0, yes or no');
  };
}

/** One of `values`, case-insensitive. */
export function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => ((values as readonly string[]).includes(raw.toLowerCase()) ? ok(raw.toLowerCase() as T) : fail(`must be one of ${values.join(', ')}`));
}

/** Any text matching `pattern` (else `reason`); no pattern: any text. */
export function text(pattern?: RegExp, reason = 'is invalid'): Parser<string> {
  return (raw) => (!pattern || pattern.test(raw) ? ok(raw) : fail(reason));
}

/** A path made absolute; it must be an existing directory. */
export function directory(): Parser<string> {
  return (raw) => {
    const path = resolve(raw);
    try {
      if (statSync(path).isDirectory()) return ok(path);
    } catch {
      // missing: the reason below
    }
    return fail('must be an existing directory');
  };
}

/** A Dify base URL, without trailing `/`; whether plain http is allowed is the variable's `check`. */
export function difyBaseUrl(): Parser<string> {
  return (raw) => {
    const result = checkBaseUrl(raw, undefined);
    return result.ok ? ok(result.url) : fail(result.reason);
  };
}

/** A Dify key (app or knowledge), a `Secret` from the start: it goes into a header, and is not the example's placeholder. */
export function difyKey(): Parser<Secret> {
  return (raw) => {
    const reasons = [...(isHeaderSafeSecret(raw) ? [] : ['must be printable ASCII without spaces']), ...(isPlaceholder(raw) ? [PLACEHOLDER_REASON] : [])];
    return reasons.length > 0 ? fail(...reasons) : ok(new Secret(raw));
  };
}

/** A secret URL (database, Redis) checked by `check`, which returns a value-free reason. */
export function secretUrl(check: (url: string) => string | undefined): Parser<Secret> {
  return (raw) => {
    const reason = isPlaceholder(raw) ? PLACEHOLDER_REASON : check(raw);
    return reason ? fail(reason) : ok(new Secret(raw));
  };
}
