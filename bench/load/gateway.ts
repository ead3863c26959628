/**
 * The gateway as it runs in production, for the bench: `node dist/main.js` in its own process on
 * a fresh database (a new Postgres database on the local server, or a PGlite folder), with
 * everything on: a caller key made by the CLI (auth), per-key limits on Redis (requests per
 * minute, concurrent streams, daily tokens: set high enough never to refuse), body validation,
 * masking, metrics, the signed audit log, and one log line per call (written to a file).
 * Only documented environment variables are used. BENCH_GATEWAY_DIR points at another checkout
 * (built, with its node_modules) to load that version of the gateway with this bench.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabaseKind } from '../../test/support/database.js';
import { clearRedisPrefix, TEST_REDIS_URL } from '../../test/support/redis.js';
import { freePort, onCleanup, ROOT, spawnTracked, waitForOk } from './processes.js';

const run = promisify(execFile);
const GATEWAY_DIR = resolve(process.env.BENCH_GATEWAY_DIR ?? ROOT);
export const APP_KEY = 'app-benchLOADbench0123456789';
/** The V8 flags the Dockerfile and `npm start` run the gateway with. */
export const PRODUCTION_NODE_ARGS = ['--max-semi-space-size=8'];
/** BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof': where the gateways spend their time (added to the production flags). */
const NODE_ARGS = [...PRODUCTION_NODE_ARGS, ...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean)];

export interface GatewayDatabase {
  kind: TestDatabaseKind;
  /** Postgres only. */
  url?: string;
  env: Record<string, string>;
  /** A caller key with the `chat` scope. */
  key: string;
}

/**
 * A fresh database, signing key and Redis prefix, and a caller key made through the CLI (before
 * any gateway opens the database: PGlite allows one process at a time). All removed at clean-up.
 */
export async function prepareGatewayDatabase(kind: TestDatabaseKind, upstreamUrl: string, extraEnv: Record<string, string>): Promise<GatewayDatabase> {
  const dir = mkdtempSync(join(tmpdir(), `gw-bench-${kind}-`));
  onCleanup(`${kind} gateway folder`, () => rmSync(dir, { recursive: true, force: true }));
  const db = await createTestDatabase(kind);
  onCleanup(`${kind} database`, () => db.drop());
  const prefix = `gw-bench-${randomBytes(5).toString('hex')}:`;
  onCleanup('Redis prefix', () => clearRedisPrefix(prefix));
  const signingKey = join(dir, 'audit-signing-key');
  writeFileSync(signingKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HOST: '127.0.0.1',
    DIFY_BASE_URL: `${upstreamUrl}/v1`,
    DIFY_API_KEY: APP_KEY,
    DIFY_ALLOW_INSECURE_HTTP: 'true',
    MIGRATIONS_DIR: join(GATEWAY_DIR, 'prisma/migrations'),
    AUDIT_SIGNING_KEY_FILE: signingKey,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'log',
    ...(db.url ? { DATABASE_URL: db.url } : { PGLITE_DIR: db.pgliteDir }),
    ...extraEnv,
  };
  const { stdout } = await run(
    process.execPath,
    [
      'dist/cli.js',
      'keys',
      'create',
      '--name',
      'bench',
      '--scopes',
      'chat',
      '--rpm',
      '1000000',
      '--streams',
      '100000',
      '--daily-tokens',
      '2000000000',
      '--json',
    ],
    { cwd: GATEWAY_DIR, env, timeout: 120_000 },
  ).catch((error: { stderr?: string }) => {
    throw new Error(`the CLI could not create a key: ${(error.stderr ?? '').trim().split('\n').pop()}`);
  });
  const { key } = JSON.parse(stdout) as { key: string };
  return { kind, url: db.url, env, key };
}

export interface RunningGateway {
  origin: string;
  pid: number;
  /** The tail of what the process wrote (for error reports). */
  logTail(): string;
  stop(): Promise<void>;
}

/** `node dist/main.js` on a free loopback port; its output goes to a file, not through the bench. */
export async function startGateway(db: GatewayDatabase, name: string, nodeArgs: string[] = []): Promise<RunningGateway> {
  const port = await freePort();
  const logDir = mkdtempSync(join(tmpdir(), 'gw-bench-log-'));
  onCleanup(`${name} log`, () => rmSync(logDir, { recursive: true, force: true }));
  const logFile = join(logDir, 'gateway.log');
  const fd = openSync(logFile, 'a');
  const { child, stop } = spawnTracked(name, process.execPath, [...NODE_ARGS, ...nodeArgs, 'dist/main.js'], {
    cwd: GATEWAY_DIR,
    env: { ...db.env, PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const origin = `http://127.0.0.1:${port}`;
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-3000);
    } catch {
      return '';
    }
  };
  try {
    await waitForOk(`${origin}/live`, 120_000, () => child.exitCode === null);
  } catch (error) {
    await stop();
    throw new Error(`${name} did not start: ${(error as Error).message}\n${logTail()}`, { cause: error });
  }
  return { origin, pid: child.pid!, logTail, stop };
}
