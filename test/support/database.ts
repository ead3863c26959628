import { PGlite } from '@electric-sql/pglite';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { applyMigrations, pgExecutor, pgliteExecutor, readMigrations } from '../../src/database/migrate.js';

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
  /**
   * The repository's `prisma/migrations`. Nothing is applied yet (opening the database does that),
   * unless the database was created `migrated`: then opening finds the schema up to date.
   */
  migrationsDir: string;
  /** Drops the database or removes the folder. Idempotent. */
  drop(): Promise<void>;
}

/** For `beforeAll(..., DATABASE_SETUP_TIMEOUT_MS)`: a first PGlite template build can be slow. */
export const DATABASE_SETUP_TIMEOUT_MS = 120_000;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

const DEFAULT_ADMIN_URLS = ['postgresql://postgres@127.0.0.1:5432/', 'postgresql://root@127.0.0.1:5432/'];

export interface TestDatabaseOptions {
  /**
   * A copy of a database the committed migrations were already applied to (built once per set of
   * migrations), for the many tests whose subject is not the migrations: opening it still checks
   * every migration's checksum but applies none. Default false: the real migration path.
   */
  migrated?: boolean;
}

export async function createTestDatabase(kind: TestDatabaseKind, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const migrated = options.migrated ?? false;
  return kind === 'postgres' ? createPostgresDatabase(migrated) : createPgliteDatabase(migrated);
}

let migrationsHash: Promise<string> | undefined;

/** Names the committed migrations (folder names and contents): a changed migration gets new templates. */
function migrationsKey(): Promise<string> {
  migrationsHash ??= readMigrations(MIGRATIONS_DIR).then((files) => {
    const hash = createHash('sha256');
    for (const file of files) hash.update(JSON.stringify(file));
    return hash.digest('hex').slice(0, 16);
  });
  return migrationsHash;
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

async function createPostgresDatabase(migrated: boolean): Promise<TestDatabase> {
  const admin = await testAdminUrl();
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  const template = migrated ? ` TEMPLATE "${await postgresTemplate(admin)}"` : '';
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}"${template}`));
  const url = databaseUrl(admin, name);
  let dropped = false;
  return {
    kind: 'postgres',
    url,
    pgliteDir: '',
    migrationsDir: MIGRATIONS_DIR,
    async drop() {
      if (dropped) return;
      dropped = true;
      await dropPostgresDatabase(admin, name);
    },
  };
}

function databaseUrl(admin: string, name: string): string {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropPostgresDatabase(admin: string, name: string): Promise<void> {
  await withClient(admin, async (c) => {
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    const [{ server_version_num }] = (await c.query<{ server_version_num: string }>('SHOW server_version_num')).rows;
    const force = Number(server_version_num) >= 130000 ? ' WITH (FORCE)' : '';
    await c.query(`DROP DATABASE IF EXISTS "${name}"${force}`);
  });
}

let pgTemplate: Promise<string> | undefined;

/**
 * The migrated Postgres template (`CREATE DATABASE … TEMPLATE` copies it in a fraction of the time
 * the migrations take). Kept on the server across runs, one per set of migrations; built under a
 * temporary name and renamed, so no run ever copies a half-migrated one. Nothing may stay connected
 * to it (Postgres refuses to copy a database in use), so it is only ever opened while being built.
 */
function postgresTemplate(admin: string): Promise<string> {
  pgTemplate ??= buildPostgresTemplate(admin).catch((err: unknown) => {
    pgTemplate = undefined;
    throw err;
  });
  return pgTemplate;
}

async function buildPostgresTemplate(admin: string): Promise<string> {
  const final = `gw_test_template_${await migrationsKey()}`;
  const exists = async () => withClient(admin, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [final])).rowCount === 1);
  if (await exists()) return final;
  const building = `gw_test_building_${randomBytes(6).toString('hex')}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${building}"`));
  try {
    await withClient(databaseUrl(admin, building), (c) => applyMigrations(pgExecutor(c), MIGRATIONS_DIR));
    await withClient(admin, (c) => c.query(`ALTER DATABASE "${building}" RENAME TO "${final}"`)).catch(async (err: unknown) => {
      if (!(await exists())) throw err; // another worker renamed theirs first: use it
    });
  } finally {
    await dropPostgresDatabase(admin, building);
  }
  return final;
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
 * Where PGlite test folders go: the memory file system when the machine has one. Each test database
 * is a 39 MB copy that PGlite then writes and syncs; on a disk shared with other work (a CI machine
 * running benchmarks) the copy alone took 6 s, in memory it takes a fraction of one.
 */
const PGLITE_SCRATCH = memoryScratch() ?? os.tmpdir();

function memoryScratch(): string | undefined {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return statSync('/dev/shm').isDirectory() ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creating a PGlite data folder runs initdb, about 5 s; copying a pristine one and opening it
 * takes about 1 s. So the first call builds a template (cached across runs under the system
 * temp folder, per PGlite version) and every test database is a copy of it. The template has no
 * migrations applied, so each test database still goes through the real migration path.
 */
async function createPgliteDatabase(migrated: boolean): Promise<TestDatabase> {
  const template = migrated ? await migratedPgliteTemplate() : await pgliteTemplate();
  const dir = await mkdtemp(path.join(PGLITE_SCRATCH, 'gw-test-pglite-'));
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

let migratedTemplate: Promise<string> | undefined;

/** A copy of the PGlite template with the committed migrations applied (cached like the template). */
function migratedPgliteTemplate(): Promise<string> {
  migratedTemplate ??= (async () => {
    const base = await pgliteTemplate();
    return buildPgliteFolder(`${base}-migrated-${await migrationsKey()}`, async (dir) => {
      await cp(base, dir, { recursive: true });
      const db = new PGlite(dir);
      try {
        await applyMigrations(pgliteExecutor(db), MIGRATIONS_DIR);
      } finally {
        await db.close();
      }
    });
  })().catch((err: unknown) => {
    migratedTemplate = undefined;
    throw err;
  });
  return migratedTemplate;
}

async function buildPgliteTemplate(): Promise<string> {
  const pkg = fileURLToPath(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url));
  const { version } = JSON.parse(await readFile(pkg, 'utf8')) as { version: string };
  return buildPgliteFolder(path.join(PGLITE_SCRATCH, `gw-pglite-template-${version}`), async (dir) => {
    const db = new PGlite(dir);
    await db.waitReady;
    await db.close();
  });
}

/** `final`, made by `make` in a folder beside it unless it is there already. */
async function buildPgliteFolder(final: string, make: (dir: string) => Promise<void>): Promise<string> {
  if (await isDirectory(path.join(final, 'base'))) return final;

  // Build beside the final name, then rename: concurrent workers never see a half-made template.
  const building = await mkdtemp(`${final}.building-`);
  try {
    await make(building);
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
