import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigValidationError } from './env.schema.js';
import { displayPath, MAX_SECRET_FILE_BYTES, readSecretFile, resolveSecretFiles } from './secret-file.js';

const CANARY = 'app-CANARYcanary0123456789ab';

function thrown(fn: () => unknown): ConfigValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return error as ConfigValidationError;
  }
  throw new Error('expected a ConfigValidationError');
}

describe('secret files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-secret-file-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  describe('readSecretFile', () => {
    it('returns the trimmed content', () => {
      expect(readSecretFile(file('key', `\n  ${CANARY}\r\n\n`), 'DIFY_API_KEY_FILE')).toBe(CANARY);
    });

    it('names the variable and path when the file is missing, never the content', () => {
      const path = join(dir, 'missing');
      const error = thrown(() => readSecretFile(path, 'DIFY_API_KEY_FILE'));
      expect(error.variables).toEqual(['DIFY_API_KEY_FILE']);
      expect(error.message).toBe(`Invalid configuration: DIFY_API_KEY_FILE (file ${path} does not exist)`);
    });

    it('refuses an empty (or blank) file', () => {
      const path = file('blank', ' \n\t\n');
      expect(thrown(() => readSecretFile(path, 'DIFY_API_KEY_FILE')).message).toContain(`file ${path} is empty`);
    });

    it('refuses a directory and an oversized file without printing content', () => {
      expect(thrown(() => readSecretFile(dir, 'X_FILE')).message).toContain('is a directory');
      const big = file('big', CANARY.repeat(Math.ceil(MAX_SECRET_FILE_BYTES / CANARY.length) + 1));
      const error = thrown(() => readSecretFile(big, 'X_FILE'));
      expect(error.message).toContain('is larger than');
      expect(error.message).not.toContain('CANARY');
    });

    // root reads any file, so the permission check can only be seen as another user.
    (process.getuid?.() === 0 ? it.skip : it)('reports an unreadable file', () => {
      const path = file('locked', CANARY);
      chmodSync(path, 0o000);
      expect(thrown(() => readSecretFile(path, 'X_FILE')).message).toContain('permission denied');
    });
  });

  describe('resolveSecretFiles', () => {
    it('reads NAME_FILE into NAME without changing the input', () => {
      const path = file('dify', `${CANARY}\n`);
      const env = { DIFY_API_KEY_FILE: path, OTHER: 'x' };
      const out = resolveSecretFiles(env, ['DIFY_API_KEY', 'DATABASE_URL']);
      expect(out.DIFY_API_KEY).toBe(CANARY);
      expect(out.OTHER).toBe('x');
      expect(out.DATABASE_URL).toBeUndefined();
      expect(env).toEqual({ DIFY_API_KEY_FILE: path, OTHER: 'x' });
    });

    it('refuses NAME and NAME_FILE together, naming both', () => {
      const path = file('both', CANARY);
      const error = thrown(() => resolveSecretFiles({ DIFY_API_KEY: CANARY, DIFY_API_KEY_FILE: path }, ['DIFY_API_KEY']));
      expect(error.variables).toEqual(expect.arrayContaining(['DIFY_API_KEY', 'DIFY_API_KEY_FILE']));
      expect(error.message).toContain('DIFY_API_KEY and DIFY_API_KEY_FILE');
      expect(error.message).not.toContain('CANARY');
    });

    it('ignores an empty NAME_FILE and an empty NAME', () => {
      expect(resolveSecretFiles({ DIFY_API_KEY: 'k', DIFY_API_KEY_FILE: '' }, ['DIFY_API_KEY']).DIFY_API_KEY).toBe('k');
      const path = file('only-file', 'from-file');
      expect(resolveSecretFiles({ DIFY_API_KEY: '', DIFY_API_KEY_FILE: path }, ['DIFY_API_KEY']).DIFY_API_KEY).toBe('from-file');
    });

    it('reports every failing file at once', () => {
      const error = thrown(() =>
        resolveSecretFiles({ DIFY_API_KEY_FILE: join(dir, 'nope-1'), DATABASE_URL_FILE: join(dir, 'nope-2') }, ['DIFY_API_KEY', 'DATABASE_URL']),
      );
      expect(error.variables).toEqual(['DIFY_API_KEY_FILE', 'DATABASE_URL_FILE']);
    });

    it('does not print a secret pasted into NAME_FILE by mistake', () => {
      const error = thrown(() =>
        resolveSecretFiles({ DIFY_API_KEY_FILE: CANARY, DATABASE_URL_FILE: 'postgresql://u:CANARYpw@db/x' }, ['DIFY_API_KEY', 'DATABASE_URL']),
      );
      expect(error.variables).toEqual(['DIFY_API_KEY_FILE', 'DATABASE_URL_FILE']);
      expect(error.message).not.toContain('CANARY');
      expect(displayPath('/run/secrets/x')).toBe('/run/secrets/x');
      expect(displayPath('./secrets/x')).toBe('./secrets/x');
    });
  });
});
