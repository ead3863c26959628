/**
 * Booting the BUILT gateway (`node dist/main.js`) with bad environments: it exits non-zero before
 * listening, with one message that names every bad variable and never a secret value. A good
 * environment is the control: the same harness sees that one listen.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { CANARY_DIFY_KEY } from '../support/test-gateway.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'main.js');
const DB_PASSWORD = 'CANARYdbPASSWORD42';

interface BootResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** Whether anything ever accepted a TCP connection on the port while the process ran. */
  listened: boolean;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Runs `node dist/main.js` with exactly `env` (plus PATH/HOME) and waits for it to exit, probing the
 * port all along. With `stopWhenListening`, a process that starts listening is stopped with SIGTERM.
 * The deadline only ends a hung process; it is not what the tests measure.
 */
async function boot(env: Record<string, string>, options: { port: number; stopWhenListening?: boolean; deadlineMs?: number }): Promise<BootResult> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(options.port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  let listened = false;
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  const deadline = setTimeout(() => child.kill('SIGKILL'), options.deadlineMs ?? 30_000);
  const probing = (async () => {
    while (running) {
      if (await canConnect(options.port)) {
        listened = true;
        if (options.stopWhenListening) child.kill('SIGTERM');
        else break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const { code, signal } = await exited;
  clearTimeout(deadline);
  await probing;
  // Let the pipes drain.
  await new Promise((r) => setImmediate(r));
  return { code, signal, output, listened };
}

describe('booting dist/main.js', () => {
  let tmp: string;
  let pgliteDir: string;

  beforeAll(async () => {
    // Built in this run: the test must run the code as it is now, not a stale dist/.
    await ensureBuilt();
    expect(existsSync(MAIN)).toBe(true);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gw-config-boot-'));
    pgliteDir = path.join(tmp, 'pglite-must-not-exist');
  }, 300_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The environment of a sane gateway except for the variables a case overrides or removes. */
  const baseEnv = (): Record<string, string> => ({
    DIFY_BASE_URL: 'http://127.0.0.1:9/v1',
    DIFY_ALLOW_INSECURE_HTTP: 'true',
    DIFY_API_KEY: CANARY_DIFY_KEY,
    PGLITE_DIR: pgliteDir,
    LOG_LEVEL: 'verbose',
  });

  const without = (env: Record<string, string>, ...names: string[]) => {
    const copy = { ...env };
    for (const name of names) delete copy[name];
    return copy;
  };

  async function expectRefusal(env: Record<string, string>, variables: string[], secrets: string[] = []): Promise<string> {
    const port = await freePort();
    const result = await boot(env, { port });
    expect(result.signal).toBeNull(); // it exited by itself, it was not killed at the deadline
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.listened).toBe(false);
    expect(result.output).not.toMatch(/listening on/i);
    expect(result.output).toContain('Invalid configuration');
    for (const variable of variables) expect(result.output).toMatch(new RegExp(`\\b${variable}\\b`));
    for (const secret of [CANARY_DIFY_KEY, 'CANARYdifyKEY', ...secrets]) expect(result.output).not.toContain(secret);
    expect(existsSync(pgliteDir)).toBe(false); // nothing started: not even the database folder
    return result.output;
  }

  it('starts and listens with a good environment (the control for every refusal below)', async () => {
    const db: TestDatabase = await createTestDatabase('postgres');
    try {
      const port = await freePort();
      const result = await boot({ ...baseEnv(), DATABASE_URL: db.url! }, { port, stopWhenListening: true });
      expect(result.listened).toBe(true);
      expect(result.output).toMatch(/listening on/i);
      expect(result.output).not.toContain(CANARY_DIFY_KEY);
      expect(result.output).not.toContain('CANARYdifyKEY');
    } finally {
      await db.drop();
    }
  }, 60_000);

  it('refuses a missing DIFY_API_KEY', async () => {
    const output = await expectRefusal(without(baseEnv(), 'DIFY_API_KEY'), ['DIFY_API_KEY']);
    expect(output).toMatch(/DIFY_API_KEY \(required/);
  });

  it('refuses an http:// DIFY_BASE_URL without DIFY_ALLOW_INSECURE_HTTP', async () => {
    const output = await expectRefusal(without(baseEnv(), 'DIFY_ALLOW_INSECURE_HTTP'), ['DIFY_BASE_URL']);
    expect(output).toContain('DIFY_ALLOW_INSECURE_HTTP=true');
  });

  it('refuses PORT=abc', async () => {
    await expectRefusal({ ...baseEnv(), PORT: 'abc' }, ['PORT']);
  });

  it('refuses a DIFY_API_KEY_FILE that does not exist', async () => {
    const missing = path.join(tmp, 'no-such-secret');
    const output = await expectRefusal({ ...without(baseEnv(), 'DIFY_API_KEY'), DIFY_API_KEY_FILE: missing }, ['DIFY_API_KEY_FILE']);
    expect(output).toContain('does not exist');
  });

  it('names every bad variable at once, and no secret value', async () => {
    const output = await expectRefusal(
      {
        ...without(baseEnv(), 'DIFY_ALLOW_INSECURE_HTTP'),
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        DIFY_MAX_RETRIES: '99',
        DIFY_FIRST_BYTE_TIMEOUT_MS: '10s',
        DATABASE_URL: `mysql://admin:${DB_PASSWORD}@db.internal/gateway`,
      },
      ['PORT', 'LOG_LEVEL', 'DIFY_BASE_URL', 'DIFY_MAX_RETRIES', 'DIFY_FIRST_BYTE_TIMEOUT_MS', 'DATABASE_URL'],
      [DB_PASSWORD, 'admin:', 'db.internal', 'loud', '10s'],
    );
    expect(output).not.toContain('DIFY_API_KEY ('); // the good key is not reported
  });

  it('refuses DIFY_API_KEY and DIFY_API_KEY_FILE together without printing the key or the file content', async () => {
    const file = path.join(tmp, 'dify-key');
    writeFileSync(file, `${CANARY_DIFY_KEY}\n`);
    await expectRefusal({ ...baseEnv(), DIFY_API_KEY_FILE: file }, ['DIFY_API_KEY_FILE', 'DIFY_API_KEY']);
  });

  it('never prints a key read from DIFY_API_KEY_FILE when another variable is bad', async () => {
    const file = path.join(tmp, 'dify-key-ok');
    writeFileSync(file, `${CANARY_DIFY_KEY}\n`);
    await expectRefusal({ ...without(baseEnv(), 'DIFY_API_KEY'), DIFY_API_KEY_FILE: file, DIFY_MAX_CALL_MS: 'forever' }, ['DIFY_MAX_CALL_MS']);
  });

  it('does not print the key when it was pasted into DIFY_API_KEY_FILE instead of a path', async () => {
    await expectRefusal({ ...without(baseEnv(), 'DIFY_API_KEY'), DIFY_API_KEY_FILE: CANARY_DIFY_KEY }, ['DIFY_API_KEY_FILE']);
  });

  it('refuses a DIFY_API_KEY with spaces without printing it', async () => {
    await expectRefusal({ ...baseEnv(), DIFY_API_KEY: `${CANARY_DIFY_KEY} trailing-words` }, ['DIFY_API_KEY']);
  });

  it('refuses a DIFY_BASE_URL with credentials without printing them', async () => {
    await expectRefusal({ ...baseEnv(), DIFY_BASE_URL: `https://user:${DB_PASSWORD}@dify.internal/v1` }, ['DIFY_BASE_URL'], [DB_PASSWORD]);
  });
});
