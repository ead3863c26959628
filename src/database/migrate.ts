import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { PgliteQueryable } from './pglite-worker.js';

/**
 * Applies the committed SQL migrations in `prisma/migrations` (Prisma's folder format) and records
 * them in Prisma's own `_prisma_migrations` table, so the same folder and database stay usable by
 * `prisma migrate deploy` wherever Prisma's native schema engine is available (it is not here).
 *
 * Differences from `prisma migrate deploy`, all on the safe side:
 * - each migration runs in one transaction together with its history row, so a failure leaves
 *   neither half-applied DDL nor a "failed" row behind (a fixed file can simply be retried).
 *   A migration that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`) is not supported;
 * - on Postgres the whole run holds the advisory lock Prisma itself uses (72707369), so replicas
 *   starting together, and a concurrent `prisma migrate deploy`, serialize.
 */

/** The minimal SQL surface the runner needs; see {@link pgExecutor} and {@link pgliteExecutor}. */
export interface SqlExecutor {
  /** `postgres` is a server shared by replicas (the run is locked); `pglite` serves this process alone. */
  readonly dialect: 'postgres' | 'pglite';
  /** One statement, optionally with `$1`-style parameters; returns the rows. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** A script of several statements, no parameters. */
  exec(sql: string): Promise<void>;
}

/** An executor over one `pg` client connection (not a pool: the lock and transactions are per session). */
export function pgExecutor(client: pg.Client): SqlExecutor {
  return {
    dialect: 'postgres',
    async query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      const result = await client.query<Row>(sql, params);
      return result.rows;
    },
    async exec(sql: string) {
      // Without parameters pg uses the simple query protocol, which accepts several statements.
      await client.query(sql);
    },
  };
}

/** An executor over a PGlite instance or its worker thread (a single connection for the process). */
export function pgliteExecutor(db: PgliteQueryable): SqlExecutor {
  return {
    dialect: 'pglite',
    async query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      const result = await db.query<Row>(sql, params);
      return result.rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

/** A migration run failed; `migration` names the migration when one is to blame. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export interface MigrateOptions {
  /** How long to wait for another replica's run (Postgres advisory lock). Default 60 s. */
  lockTimeoutMs?: number;
}

/** The advisory lock key `prisma migrate` takes on Postgres; sharing it serializes both runners. */
export const MIGRATION_LOCK_KEY = 72707369;

/** Exactly the table Prisma's schema engine creates (postgres connector). */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

export interface MigrationFile {
  /** The folder name, `<stamp>_<name>`; what `_prisma_migrations.migration_name` holds. */
  name: string;
  sql: string;
  checksum: string;
}

/** Prisma's checksum: the SHA-256 of `migration.sql`, as lower-case hex. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Like Prisma, accept a file whose line endings git converted (CRLF ⇄ LF) since it was applied. */
function matchesChecksum(sql: string, checksum: string): boolean {
  return (
    migrationChecksum(sql) === checksum ||
    migrationChecksum(sql.replaceAll('\r\n', '\n')) === checksum ||
    migrationChecksum(sql.replaceAll('\r\n', '\n').replaceAll('\n', '\r\n')) === checksum
  );
}

/** The migrations in `dir`, in the order Prisma applies them (folder names sorted). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    let sql: string;
    try {
      sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
    } catch (err) {
      throw new MigrationError(`Migration ${name} has no readable migration.sql`, name, { cause: err });
    }
    migrations.push({ name, sql, checksum: migrationChecksum(sql) });
  }
  return migrations;
}

interface HistoryRow extends Record<string, unknown> {
  migration_name: string;
  checksum: string;
  finished_at: Date | string | null;
  rolled_back_at: Date | string | null;
}

/**
 * Applies, in order, every migration of `migrationsDir` not yet recorded as applied, and returns
 * their names (empty when the database is up to date). Throws a {@link MigrationError} when an
 * applied migration's file changed (checksum mismatch), when a migration failed earlier under
 * `prisma migrate deploy` and was never resolved, or when a migration fails now (rolled back).
 */
export async function applyMigrations(exec: SqlExecutor, migrationsDir: string, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  const locked = exec.dialect === 'postgres';
  if (locked) await acquireLock(exec, options.lockTimeoutMs ?? 60_000);
  try {
    await exec.exec(CREATE_MIGRATIONS_TABLE);
    const history = await exec.query<HistoryRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at
         FROM _prisma_migrations ORDER BY started_at`,
    );

    const pending: MigrationFile[] = [];
    for (const migration of migrations) {
      const rows = history.filter((r) => r.migration_name === migration.name && r.rolled_back_at === null);
      const applied = rows.filter((r) => r.finished_at !== null);
      if (applied.length > 0) {
        if (!applied.some((r) => matchesChecksum(migration.sql, r.checksum))) {
          throw new MigrationError(
            `Migration ${migration.name} was modified after it was applied (checksum mismatch): ` + 'restore the applied file and add a new migration instead',
            migration.name,
          );
        }
        continue;
      }
      if (rows.length > 0) {
        throw new MigrationError(
          `Migration ${migration.name} failed in an earlier run (unfinished row in _prisma_migrations); ` +
            'repair the database, then mark it with `prisma migrate resolve`',
          migration.name,
        );
      }
      pending.push(migration);
    }

    const done: string[] = [];
    for (const migration of pending) {
      await applyOne(exec, migration);
      done.push(migration.name);
    }
    return done;
  } finally {
    if (locked) await exec.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
  }
}

async function applyOne(exec: SqlExecutor, migration: MigrationFile): Promise<void> {
  await exec.query('BEGIN');
  try {
    await exec.exec(migration.sql);
    await exec.query(
      `INSERT INTO _prisma_migrations
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await exec.query('COMMIT');
  } catch (err) {
    await exec.query('ROLLBACK').catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new MigrationError(`Migration ${migration.name} failed and was rolled back: ${reason}`, migration.name, {
      cause: err,
    });
  }
}

/**
 * Takes Prisma's session-level advisory lock, waiting at most `timeoutMs`. The wait happens in a
 * short transaction so that `SET LOCAL lock_timeout` bounds it without touching the session's
 * settings; a session-level advisory lock outlives the transaction that took it.
 */
async function acquireLock(exec: SqlExecutor, timeoutMs: number): Promise<void> {
  await exec.query('BEGIN');
  try {
    await exec.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(1, Math.round(timeoutMs))}ms`]);
    await exec.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await exec.query('COMMIT');
  } catch (err) {
    await exec.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`Could not take the migration lock within ${timeoutMs} ms (another instance is migrating?)`, undefined, { cause: err });
  }
}
