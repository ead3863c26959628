import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * Fresh databases for tests: one per test file (create it in `beforeAll`, drop it in `afterAll`).
 * The result has the shape `openDatabase()` takes, and the values `startTestGateway()` puts in
 * the environment (`DATABASE_URL`, `PGLITE_DIR`, `MIGRATIONS_DIR`).
 */

export type TestDatabaseKind = 'postgres' | 'pglite';

/** Both kinds, for `describe.each(DATABASE_KINDS)('... (%s)', (kind) => ...)`. */
export const DATABASE_KINDS: readonly TestDatabaseKind[] = ['postgres', 'pglite'];

export interface TestDatabase {
  kind: TestDatabaseKind;
  /** Postgres only: the URL of the fresh database. */
  url?: string;
  /** PGlite only (empty for Postgres): a fresh data folder. */
  pgliteDir: string;
  /** The repository's `prisma/migrations`. Nothing is applied yet: opening the database does that. */
  migrationsDir: string;
  /** Drops the database or removes the folder. Idempotent. */
  drop(): Promise<void>;
}

/** For `beforeAll(..., DATABASE_SETUP_TIMEOUT_MS)`: a first PGlite template build can be slow. */
export const DATABASE_SETUP_TIMEOUT_MS = 120_000;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

const DEFAULT_ADMIN_URLS = ['postgresql://postgres@127.0.0.1:5432/', 'postgresql://root@127.0.0.1:5432/'];

export async function createTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  return kind === 'postgres' ? createPostgresDatabase() : createPgliteDatabase();
}

// ---------------------------------------------------------------- Postgres

let adminUrl: Promise<string> | undefined;

/**
 * A URL with the right to create databases: `TEST_DATABASE_ADMIN_URL` when set, otherwise the
 * local server as `postgres`, then as `root` (trust auth on CI machines and dev boxes).
 */
export function testAdminUrl(): Promise<string> {
  adminUrl ??= (async () => {
    const candidates = process.env.TEST_DATABASE_ADMIN_URL ? [process.env.TEST_DATABASE_ADMIN_URL] : DEFAULT_ADMIN_URLS;
    const failures: string[] = [];
    for (const url of candidates) {
      try {
        await withClient(url, (c) => c.query('SELECT 1'));
        return url;
      } catch (err) {
        failures.push(`${maskUrl(url)}: ${(err as Error).message}`);
      }
    }
    adminUrl = undefined; // let a later call retry, e.g. once the server is up
    throw new Error(`No test Postgres reachable (set TEST_DATABASE_ADMIN_URL). Tried ${failures.join('; ')}`);
  })();
  return adminUrl;
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  const admin = await testAdminUrl();
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    kind: 'postgres',
    url: url.toString(),
    pgliteDir: '',
    migrationsDir: MIGRATIONS_DIR,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(admin, async (c) => {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        const [{ server_version_num }] = (await c.query<{ server_version_num: string }>('SHOW server_version_num')).rows;
        const force = Number(server_version_num) >= 130000 ? ' WITH (FORCE)' : '';
        await c.query(`DROP DATABASE IF EXISTS "${name}"${force}`);
      });
    },
  };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined); // a terminated admin session must not crash the test process
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

// ---------------------------------------------------------------- PGlite

/**
 * Creating a PGlite data folder runs initdb, about 5 s; copying a pristine one and opening it
 * takes about 1 s. So the first call builds a template (cached across runs under the system
 * temp folder, per PGlite version) and every test database is a copy of it. The template has no
 * migrations applied, so each test database still goes through the real migration path.
 */
async function createPgliteDatabase(): Promise<TestDatabase> {
  const template = await pgliteTemplate();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gw-test-pglite-'));
  await cp(template, dir, { recursive: true });
  let dropped = false;
  return {
    kind: 'pglite',
    pgliteDir: dir,
    migrationsDir: MIGRATIONS_DIR,
    async drop() {
      if (dropped) return;
      dropped = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let template: Promise<string> | undefined;

/**
 * Builds the PGlite template if it is not cached yet (about 5 s once; 15 s or more inside a
 * jest worker under load). Call it from jest's global setup so no test's `beforeAll` pays it.
 */
export function preparePgliteTemplate(): Promise<string> {
  return pgliteTemplate();
}

function pgliteTemplate(): Promise<string> {
  template ??= buildPgliteTemplate().catch((err) => {
    template = undefined;
    throw err;
  });
  return template;
}

async function buildPgliteTemplate(): Promise<string> {
  const pkg = fileURLToPath(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url));
  const { version } = JSON.parse(await readFile(pkg, 'utf8')) as { version: string };
  const final = path.join(os.tmpdir(), `gw-pglite-template-${version}`);
  if (await isDirectory(path.join(final, 'base'))) return final;

  // Build beside the final name, then rename: concurrent workers never see a half-made template.
  const building = await mkdtemp(`${final}.building-`);
  try {
    const db = new PGlite(building);
    await db.waitReady;
    await db.close();
    await rename(building, final).catch(async (err: NodeJS.ErrnoException) => {
      // Another worker finished first (ENOTEMPTY/EEXIST): use theirs.
      if (!(await isDirectory(path.join(final, 'base')))) throw err;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return final;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
