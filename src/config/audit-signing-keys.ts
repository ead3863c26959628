/**
 * The audit signing keys file (`AUDIT_SIGNING_KEY_FILE`, a mounted secret): one key per line, the
 * first signs new records and checkpoints, the others only verify (key rotation). Blank lines
 * and `#` comments are ignored. Errors name the variable and the path, never a key.
 */
import type { ConfigIssue } from './env.schema.js';
import { Secret } from './secret.js';
import { displayPath, MAX_SECRET_FILE_BYTES, readTextFile } from './secret-file.js';

/** HMAC-SHA256 keys shorter than this are too easy to guess (32 characters, e.g. 16 random bytes in hex). */
export const MIN_SIGNING_KEY_LENGTH = 32;

const VARIABLE = 'AUDIT_SIGNING_KEY_FILE';

export function readSigningKeys(path: string | undefined): { keys: Secret[]; issues: ConfigIssue[] } {
  if (path === undefined) return { keys: [], issues: [] };
  const file = readTextFile(path, MAX_SECRET_FILE_BYTES);
  if (!file.ok) return { keys: [], issues: [{ variable: VARIABLE, reason: file.reason }] };
  const lines = file.text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const shown = `file ${displayPath(path)}`;
  if (lines.length === 0) return { keys: [], issues: [{ variable: VARIABLE, reason: `${shown} holds no key` }] };
  if (lines.some((line) => line.length < MIN_SIGNING_KEY_LENGTH || /\s/.test(line))) {
    return {
      keys: [],
      issues: [{ variable: VARIABLE, reason: `${shown}: each key must be at least ${MIN_SIGNING_KEY_LENGTH} characters without spaces` }],
    };
  }
  return { keys: lines.map((line) => new Secret(line)), issues: [] };
}
