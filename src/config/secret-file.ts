/**
 * Secrets mounted as files (Docker/Kubernetes secrets): `DIFY_API_KEY_FILE=/run/secrets/dify`
 * becomes `DIFY_API_KEY`. Errors name the variable and the path, never the content.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigValidationError, type ConfigIssue } from './env.schema.js';

/** A secret is a key or a URL: anything bigger is almost certainly the wrong file. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export type TextFileResult = { ok: true; text: string } | { ok: false; reason: string };

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'does not exist (a parent is not a directory)';
    default:
      return code ? `cannot be read (${code})` : 'cannot be read';
  }
}

/**
 * How a path appears in an error. A common mistake is to put the secret itself into `X_FILE`
 * (`DIFY_API_KEY_FILE=app-...`, `DATABASE_URL_FILE=postgresql://user:pass@...`); such a "path"
 * is not shown. Only absolute and `./`/`../` relative paths without `://` are printed.
 */
export function displayPath(path: string): string {
  const looksLikePath = /^(?:\/|\.\.?\/)/.test(path) && !path.includes('://');
  return looksLikePath ? path : '(path not shown: not absolute or ./relative)';
}

/**
 * Reads a small UTF-8 text file. On failure returns a reason naming the path
 * (`file /run/secrets/x does not exist`), never the content. `shownAs` is the path as the
 * operator wrote it (used for display), when `path` was resolved from it.
 */
export function readTextFile(path: string, maxBytes: number, shownAs = path): TextFileResult {
  const file = `file ${displayPath(shownAs)}`;
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) return { ok: false, reason: `${file} is a directory, not a file` };
    if (!stats.isFile()) return { ok: false, reason: `${file} is not a regular file` };
    if (stats.size > maxBytes) return { ok: false, reason: `${file} is larger than ${maxBytes} bytes` };
    return { ok: true, text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { ok: false, reason: `${file} ${describeFsError(error)}` };
  }
}

/** Reads a secret file for `variable`; returns the trimmed content or a value-free issue. */
export function readSecret(path: string, variable: string, shownAs = path): { ok: true; value: string } | { ok: false; issue: ConfigIssue } {
  const result = readTextFile(path, MAX_SECRET_FILE_BYTES, shownAs);
  if (!result.ok) return { ok: false, issue: { variable, reason: result.reason } };
  const value = result.text.trim();
  if (value === '') return { ok: false, issue: { variable, reason: `file ${displayPath(shownAs)} is empty` } };
  return { ok: true, value };
}

/**
 * Returns the trimmed content of a secret file. Throws `ConfigValidationError` naming
 * `variable` and the path (missing, unreadable, a directory, too large or empty).
 */
export function readSecretFile(path: string, variable = 'secret file'): string {
  const result = readSecret(path, variable);
  if (!result.ok) throw new ConfigValidationError([result.issue]);
  return result.value;
}

function isSet(value: string | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * The collecting form of `resolveSecretFiles`: returns a copy of `env` where every `<NAME>_FILE`
 * is read into `<NAME>`, plus every problem found (so boot can report them all at once).
 */
export function collectSecretFiles(
  env: Record<string, string | undefined>,
  names: readonly string[],
): { env: Record<string, string | undefined>; issues: ConfigIssue[] } {
  const out: Record<string, string | undefined> = { ...env };
  const issues: ConfigIssue[] = [];
  for (const name of names) {
    const fileVariable = `${name}_FILE`;
    const path = env[fileVariable];
    if (!isSet(path)) continue;
    if (isSet(env[name])) {
      issues.push({
        variable: fileVariable,
        reason: `set only one of ${name} and ${fileVariable}`,
        related: [name],
      });
      continue;
    }
    const result = readSecret(path.trim(), fileVariable);
    if (result.ok) out[name] = result.value;
    else issues.push(result.issue);
  }
  return { env: out, issues };
}

/**
 * Returns a copy of `env` where, for each name, `<NAME>_FILE` (a path) is read into `<NAME>`.
 * Throws `ConfigValidationError` when a file cannot be used or both `<NAME>` and `<NAME>_FILE`
 * are set.
 */
export function resolveSecretFiles(env: Record<string, string | undefined>, names: readonly string[]): Record<string, string | undefined> {
  const { env: resolved, issues } = collectSecretFiles(env, names);
  if (issues.length > 0) throw new ConfigValidationError(issues);
  return resolved;
}
