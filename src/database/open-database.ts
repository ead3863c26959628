import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations, pgExecutor, pgliteExecutor, readMigrations } from './migrate.js';
import { startPgliteWorker, type PgliteWorker } from './pglite-worker.js';
import { pgliteRawSql, postgresRawSql, type RawSql } from './raw-sql.js';
import { holdPostgresSessionLock, type ReleaseSessionLock } from './session-lock.js';

export type DatabaseKind = 'postgres' | 'pglite';

/** The PGlite folder value that means "in memory, nothing on disk" (tests, throwaway demos). */
export const PGLITE_IN_MEMORY = 'memory://';

export interface DatabaseOptions {
  /** Required for `postgres`; ignored for `pglite`. Never logged. */
  url?: string;
  kind: DatabaseKind;
  /** PGlite's data folder (created if missing), or {@link PGLITE_IN_MEMORY}. */
  pgliteDir: string;
  /** Prisma's migrations folder, e.g. `prisma/migrations`. */
  migrationsDir: string;
  /** Errors of idle pooled Postgres connections (otherwise only visible in Prisma's debug log). */
  onConnectionError?: (err: Error) => void;
}

export interface OpenDatabase {
  readonly kind: DatabaseKind;
  readonly client: PrismaClient;
  /** Bare SQL on the same database, for the audit log's hot path only (see `RawSql`). */
  readonly sql: RawSql;
  /** The migrations this open applied (empty when the database was up to date). */
  readonly applied: string[];
  /**
   * Holds an advisory lock for this process's life on a session of its own (Postgres; see
   * `holdPostgresSessionLock`). PGlite serves one process, so there is nothing to hold.
   */
  holdSessionLock(key: [number, number], onLost?: (err: Error) => void): Promise<ReleaseSessionLock>;
  /** Disconnects Prisma and, for PGlite, closes the database (flushing it to disk). Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the database chosen by `kind`, applies pending migrations, connects Prisma. No Nest here:
 * `PrismaService`, the CLI and tests all go through this function.
 */
export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  // Fail fast on a bad migrations folder, before connecting or creating a PGlite folder.
  await readMigrations(options.migrationsDir);
  return options.kind === 'postgres' ? openPostgres(options) : openPglite(options);
}

async function openPostgres(options: DatabaseOptions): Promise<OpenDatabase> {
  const connectionString = options.url;
  if (!connectionString) throw new Error('A database URL is required for kind "postgres"');

  // Migrations run on one dedicated session: the advisory lock and each transaction are per session.
  const session = new pg.Client({ connectionString });
  session.on('error', (err) => options.onConnectionError?.(err));
  let applied: string[];
  await session.connect();
  try {
    applied = await applyMigrations(pgExecutor(session), options.migrationsDir);
  } finally {
    await session.end().catch(() => undefined);
  }

  const client = new PrismaClient({
    adapter: new PrismaPg(
      // A bounded connect: a database that does not answer must fail writes, not hang them.
      { connectionString, connectionTimeoutMillis: 5000 },
      { onPoolError: options.onConnectionError, onConnectionError: options.onConnectionError },
    ),
  });
  try {
    await client.$connect();
  } catch (err) {
    await client.$disconnect().catch(() => undefined);
    throw err;
  }
  const sql = postgresRawSql(connectionString, options.onConnectionError);
  let closed = false;
  return {
    kind: 'postgres',
    client,
    sql,
    applied,
    holdSessionLock: (key, onLost) => holdPostgresSessionLock(connectionString, key, onLost),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await sql.close();
      } finally {
        await client.$disconnect();
      }
    },
  };
}

async function openPglite(options: DatabaseOptions): Promise<OpenDatabase> {
  const dir = options.pgliteDir;
  if (!dir) throw new Error('A PGlite data folder is required for kind "pglite"');
  let unlock = async () => {};
  if (dir !== PGLITE_IN_MEMORY) {
    await mkdir(dir, { recursive: true });
    unlock = await lockPgliteDir(dir);
  }

  let pglite: PgliteWorker | undefined;
  let client: PrismaClient | undefined;
  try {
    // In a worker thread: its WASM work must not block request handling (see pglite-worker.ts).
    pglite = startPgliteWorker(dir);
    await pglite.waitReady;
    const applied = await applyMigrations(pgliteExecutor(pglite), options.migrationsDir);
    // The adapter calls only query, exec and transaction, which the worker's proxy has (pglite-worker.spec.ts).
    client = new PrismaClient({ adapter: new PrismaPGlite(pglite as unknown as PGlite) });
    await client.$connect();
    const [prisma, db] = [client, pglite];
    let closed = false;
    return {
      kind: 'pglite',
      client: prisma,
      sql: pgliteRawSql(db),
      applied,
      holdSessionLock: async () => async () => undefined,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await prisma.$disconnect();
        } finally {
          try {
            await db.close();
          } finally {
            await unlock();
          }
        }
      },
    };
  } catch (err) {
    await client?.$disconnect().catch(() => undefined);
    await pglite?.close().catch(() => undefined);
    await unlock();
    throw err;
  }
}

/** PGlite folders open in this process (by real path). */
const openPgliteDirs = new Set<string>();

/** The lock file inside a PGlite folder: `{ pid, host }` of the process that has it open. */
export const PGLITE_LOCK_FILE = 'gateway.lock';

/**
 * PGlite itself does not stop a second process from opening the same folder, and two writers
 * corrupt it (say the CLI run while the gateway is up). A lock file naming the holder's pid
 * prevents that; a lock left by a dead process (same host, pid gone) or written on another
 * host (a recreated container: its pid cannot be checked) is taken over. Returns the release.
 */
async function lockPgliteDir(dir: string): Promise<() => Promise<void>> {
  const real = await realpath(dir);
  if (openPgliteDirs.has(real)) throw new Error(`PGlite folder ${dir} is already open in this process`);
  const file = path.join(real, PGLITE_LOCK_FILE);
  const me = { pid: process.pid, host: os.hostname() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, JSON.stringify(me), { flag: 'wx' });
      openPgliteDirs.add(real);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        openPgliteDirs.delete(real);
        await rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readLock(file);
    if (holder && holder.host === me.host && holder.pid !== me.pid && isAlive(holder.pid)) {
      throw new Error(
        `PGlite folder ${dir} is in use by process ${holder.pid}: stop it first ` + `(PGlite allows one process per folder; use Postgres for more)`,
      );
    }
    await rm(file, { force: true }); // stale: its process is gone
  }
  throw new Error(`Could not lock PGlite folder ${dir}`);
}

async function readLock(file: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof value.pid === 'number' && typeof value.host === 'string' ? { pid: value.pid, host: value.host } : undefined;
  } catch {
    return undefined; // unreadable or half-written: treat as stale
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
