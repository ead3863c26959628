import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, type TestDatabase } from '../support/database.js';
import { ensureBuilt } from '../support/gateway-process.js';

/** `node dist/cli.js` as an operator runs it: a real process, a real database, the exit code. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string }).version;
const DIFY_KEY = 'app-cliTestDifyKey0123456789';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_FORMAT: 'json' };
    execFile(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const STACK_LINE = /^\s+at /m;
const NEST_BOOT = /InstanceLoader|RoutesResolver|RouterExplorer|NestFactory|dependencies initialized/;

beforeAll(() => ensureBuilt(), 300_000);

describe('CLI help, version and usage (no environment at all)', () => {
  it('--help at the top lists the groups, the container usage line and the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: node dist\/cli\.js /);
    expect(r.stdout).toMatch(/keys\s+create, list, show, update, rotate, revoke/);
    expect(r.stdout).toMatch(/audit\s+verify, checkpoint/);
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toMatch(/2 {2}usage/);
  });

  it.each([
    [['keys', 'list', '--help'], /Usage: node dist\/cli\.js keys list \[options\][\s\S]*--status <status>[\s\S]*choices: "active", "expired",\s+"revoked"/],
    [['keys', 'create', '-h'], /Usage: node dist\/cli\.js keys create[\s\S]*--daily-tokens <n>[\s\S]*--json/],
    [['audit', 'verify', '--help'], /Usage: node dist\/cli\.js audit verify[\s\S]*--from <ISO time\|seq>[\s\S]*Exit code 3/],
    [['keys', '--help'], /Usage: node dist\/cli\.js keys \[options\] \[command\][\s\S]*rotate \[options\] <id>/],
  ])('%j prints its own help and exits 0', async (args, pattern) => {
    const r = await cli(args);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(pattern);
    expect(r.stdout).toContain('Exit codes:');
  });

  it('--version prints the package version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it.each([
    [[], /a command is needed/],
    [['keys'], /a command is needed/],
    [['nope'], /unknown command 'nope'/],
    [['keys', 'list', '--status', 'bogus'], /argument 'bogus' is invalid: Allowed choices are active, expired, revoked/],
    [['keys', 'list', '--bogus'], /unknown option '--bogus'/],
    [['keys', 'show'], /missing required argument 'id'/],
    [
      ['keys', 'create', '--name', 'x', '--scopes', 'chat', '--rpm', 'lots'],
      /option '--rpm <n>' argument 'lots' is invalid: must be a whole number \(0: no limit\)\n\(see node dist\/cli\.js keys create --help\)/,
    ],
    [['keys', 'update', 'some-id', '--expires', 'tomorrow'], /argument 'tomorrow' is invalid: must be an ISO 8601 date-time such as .* or "never"/],
    [['keys', 'rotate', 'some-id', '--grace', '-5'], /option '--grace <seconds>' argument '-5' is invalid: must be a whole number/],
    [['audit', 'verify', '--from', 'yesterday'], /argument 'yesterday' is invalid: must be a seq number or an ISO 8601 time/],
  ])('%j is a usage error: exit 2, one clear line, no stack', async (args, pattern) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('--json makes errors JSON on stderr: { code, message, exit_code }', async () => {
    const bad = await cli(['keys', 'list', '--status', 'bogus', '--json']);
    expect(bad.code).toBe(2);
    const invalid = expect.stringContaining("'--status <status>' argument 'bogus' is invalid");
    expect(JSON.parse(bad.stderr)).toEqual({ code: 'invalid_argument', message: invalid, exit_code: 2 });
    const value = await cli(['keys', 'create', '--name', 'x', '--scopes', 'chat', '--streams', 'x', '--json']);
    const streams = expect.stringContaining("'--streams <n>' argument 'x' is invalid: must be a whole number");
    expect(JSON.parse(value.stderr)).toMatchObject({ code: 'invalid_argument', message: streams, exit_code: 2 });
    const unknown = await cli(['keys', 'frobnicate', '--json']);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ code: 'unknown_command', exit_code: 2 });
  });
});

describe('CLI against a real database (PGlite), with no Dify key and no Redis', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let deadRedis: Server;

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    // A Redis URL nobody answers: read-only commands must not wait for it (they do not use it).
    deadRedis = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => deadRedis.listen(0, '127.0.0.1', resolve));
    const port = (deadRedis.address() as { port: number }).port;
    env = { PGLITE_DIR: db.pgliteDir, MIGRATIONS_DIR: db.migrationsDir, REDIS_URL: `redis://127.0.0.1:${port}`, DIFY_API_KEY_FILE: '/nonexistent/dify-key' };
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await new Promise((resolve) => deadRedis?.close(resolve));
    await db?.drop();
  });

  it('keys list works, quietly: no Nest boot lines, nothing on stderr', async () => {
    const text = await cli(['keys', 'list'], env);
    expect(text).toEqual({ code: 0, stdout: 'No keys.\n', stderr: '' });
    const json = await cli(['keys', 'list', '--status', 'active', '--json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual([]);
  }, 120_000);

  it('audit verify on a fresh log reads calm, and exits 0', async () => {
    const r = await cli(['audit', 'verify'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(NEST_BOOT);
    expect(r.stdout.split('\n')[0]).toMatch(/^OK: 0 events sealed yet\.$/);
    // The first verify is itself recorded: the second sees it, sealed.
    const again = await cli(['audit', 'verify', '--json'], env);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as { ok: boolean; checked: number; summary: string; notes: string[] };
    expect(report).toMatchObject({ ok: true, checked: 1 });
    expect(report.summary).toMatch(/^OK: 1 event verified \(seq 1-1\), 0 checkpoints/);
    expect(report.notes).toEqual(['1 newest event is not covered by a checkpoint yet (the next checkpoint covers them)']);
  }, 120_000);

  it('a command that binds Dify apps says which variable it needs: exit 1, JSON under --json', async () => {
    const r = await cli(['keys', 'create', '--name', 'team', '--scopes', 'chat', '--json'], { PGLITE_DIR: db.pgliteDir, MIGRATIONS_DIR: db.migrationsDir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ code: 'config_invalid', message: expect.stringContaining('DIFY_API_KEY (required'), exit_code: 1 });
  }, 60_000);

  it('creates a key where a Dify key is configured; lists, shows and refuses without one', async () => {
    const withDify = { PGLITE_DIR: db.pgliteDir, MIGRATIONS_DIR: db.migrationsDir, DIFY_API_KEY: DIFY_KEY };
    const created = await cli(['keys', 'create', '--name', 'cli-e2e', '--scopes', 'chat', '--rpm', '5', '--json'], withDify);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const key = JSON.parse(created.stdout) as { id: string; key: string; apps: string[]; limits: { requestsPerMinute: number } };
    expect(key).toMatchObject({ apps: ['default'], limits: { requestsPerMinute: 5 } });

    const listed = await cli(['keys', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${key.id} {2}dgw_\\w+… {2}cli-e2e {2}active {2}apps=default {2}scopes=chat`));
    expect(listed.stdout).not.toContain(key.key);

    // The words of update: "default" for a limit, "never" for the expiry.
    const updated = await cli(['keys', 'update', key.id, '--rpm', 'default', '--streams', '0', '--expires', 'never', '--json'], withDify);
    expect(updated).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(updated.stdout)).toMatchObject({ id: key.id, limits: { requestsPerMinute: null, concurrentStreams: 0 }, expiresAt: null });

    const missing = await cli(['keys', 'show', '00000000-0000-4000-8000-000000000000', '--json'], env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stderr)).toMatchObject({ code: 'not_found', status: 404, exit_code: 2 });

    const refused = await cli(['keys', 'create', '--name', 'x', '--scopes', 'nope'], withDify);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: .*unknown scopes: nope/);
    expect(refused.stderr).not.toMatch(STACK_LINE);

    // The refusal and the creation are in the log, and it verifies.
    const verified = await cli(['audit', 'verify'], env);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^OK: \d+ events verified/);
  }, 180_000);
});
