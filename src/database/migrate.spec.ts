import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, DATABASE_KINDS, MIGRATIONS_DIR, type TestDatabase } from '../../test/support/database.js';
import { applyMigrations, MIGRATION_LOCK_KEY, MigrationError, pgExecutor, pgliteExecutor, type SqlExecutor } from './migrate.js';

const INIT = '20261127000000_init';
/** Every committed migration, in the order they apply. */
const ALL = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

interface Connection {
  exec: SqlExecutor;
  close(): Promise<void>;
}

async function connect(db: TestDatabase): Promise<Connection> {
  if (db.kind === 'postgres') {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    return { exec: pgExecutor(client), close: () => client.end() };
  }
  const pglite = new PGlite(db.pgliteDir);
  await pglite.waitReady;
  return { exec: pgliteExecutor(pglite), close: () => pglite.close() };
}

/** A copy of the real migrations folder, plus `extra` migrations, in a temp folder. */
async function migrationsWith(extra: Record<string, string | null>, edit?: (init: string) => string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gw-migrations-'));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  if (edit) {
    const file = path.join(dir, INIT, 'migration.sql');
    await writeFile(file, edit(await readFile(file, 'utf8')));
  }
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(path.join(dir, name));
    if (sql !== null) await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  tempDirs.push(dir);
  return dir;
}
const tempDirs: string[] = [];

afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe.each(DATABASE_KINDS)('applyMigrations (%s)', (kind) => {
  let db: TestDatabase;
  let conn: Connection;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    conn = await connect(db);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await conn?.close();
    await db?.drop();
  });

  const rows = (sql: string, params?: unknown[]) => conn.exec.query(sql, params);

  it('applies the committed migrations once; a second run is a no-op', async () => {
    expect(ALL[0]).toBe(INIT);
    expect(await applyMigrations(conn.exec, db.migrationsDir)).toEqual(ALL);
    expect(await applyMigrations(conn.exec, db.migrationsDir)).toEqual([]);
  });

  it("records it in Prisma's _prisma_migrations table, with the SHA-256 of the file", async () => {
    const file = await readFile(path.join(db.migrationsDir, INIT, 'migration.sql'));
    const all = await rows('SELECT * FROM _prisma_migrations ORDER BY migration_name');
    expect(all.map((r) => r.migration_name)).toEqual(ALL);
    const row = all[0];
    expect(row).toMatchObject({
      migration_name: INIT,
      checksum: createHash('sha256').update(file).digest('hex'),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row.finished_at).toBeInstanceOf(Date);
    expect((row.finished_at as Date).getTime()).toBeGreaterThanOrEqual((row.started_at as Date).getTime());

    // The same columns and types Prisma's schema engine creates, so `prisma migrate deploy` accepts it.
    const columns = await rows(
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', len: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', len: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', len: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', len: null, is_nullable: 'NO', column_default: '0' },
    ]);
  });

  it("creates the tables and indexes with Prisma's names", async () => {
    const indexes = await rows(
      `SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE tablename IN ('api_keys', 'audit_events', 'audit_checkpoints', 'audit_pending', 'audit_stats_daily', 'audit_stats_hourly') ORDER BY indexname`,
    );
    expect(indexes.map((i) => i.indexname)).toEqual([
      'api_keys_hash_key',
      'api_keys_pkey',
      'api_keys_previous_hash_key',
      'audit_checkpoints_pkey',
      'audit_checkpoints_seq_idx',
      'audit_events_app_alias_seq_idx',
      'audit_events_call_id_idx',
      'audit_events_caller_key_id_seq_idx',
      'audit_events_conversation_id_seq_idx',
      'audit_events_end_user_seq_idx',
      'audit_events_id_key',
      'audit_events_message_id_seq_idx',
      'audit_events_outcome_app_alias_seq_idx',
      'audit_events_pkey',
      'audit_events_recorded_at_seq_idx',
      'audit_events_request_id_seq_idx',
      'audit_events_route_seq_idx',
      'audit_events_status_seq_idx',
      'audit_events_type_instance_id_idx',
      'audit_pending_call_id_idx',
      'audit_pending_id_key',
      'audit_pending_pkey',
      'audit_pending_type_instance_id_idx',
      'audit_stats_daily_bucket_caller_key_id_app_alias_idx',
      'audit_stats_daily_pkey',
      'audit_stats_hourly_pkey',
    ]);
    expect(await rows(`SELECT to_regclass('audit_records') AS t`)).toEqual([{ t: null }]);
    expect(indexes.find((i) => i.indexname === 'api_keys_hash_key')?.indexdef).toContain('CREATE UNIQUE INDEX');
    const constraints = await rows(
      `SELECT conname, contype FROM pg_constraint WHERE conrelid IN ('api_keys'::regclass, 'audit_events'::regclass, 'audit_checkpoints'::regclass, 'audit_pending'::regclass) AND contype <> 'n'
        ORDER BY conname`,
    );
    expect(constraints).toEqual([
      { conname: 'api_keys_pkey', contype: 'p' },
      { conname: 'audit_checkpoints_pkey', contype: 'p' },
      { conname: 'audit_events_pkey', contype: 'p' },
      { conname: 'audit_pending_pkey', contype: 'p' },
    ]);
    // The inbox stamps rows with the database clock, to the millisecond (the hash covers it as stored).
    const [column] = await rows(`SELECT column_default FROM information_schema.columns WHERE table_name = 'audit_pending' AND column_name = 'received_at'`);
    expect(column.column_default).toMatch(/date_trunc\('milliseconds'.*clock_timestamp\(\)/);
    expect(await rows(`SELECT is_nullable FROM information_schema.columns WHERE table_name = 'audit_events' AND column_name = 'received_at'`)).toEqual([
      { is_nullable: 'YES' },
    ]);
  });

  it('rejects an applied migration whose file changed, naming it', async () => {
    const dir = await migrationsWith({}, (sql) => `${sql}\n-- an innocent-looking edit\n`);
    const error = await applyMigrations(conn.exec, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ migration: INIT });
    expect((error as Error).message).toContain(INIT);
    expect((error as Error).message).toMatch(/checksum/);
  });

  it('accepts an applied migration whose line endings git converted (CRLF), as Prisma does', async () => {
    const dir = await migrationsWith({}, (sql) => sql.replaceAll('\n', '\r\n'));
    expect(await applyMigrations(conn.exec, dir)).toEqual([]);
  });

  it('applies new migrations after the applied ones, in folder order', async () => {
    const dir = await migrationsWith({
      '20261129000000_second': 'ALTER TABLE probe ADD COLUMN note TEXT;',
      '20261128000000_first': 'CREATE TABLE probe (id INTEGER PRIMARY KEY);\nCREATE INDEX probe_id_idx ON probe (id);',
    });
    expect(await applyMigrations(conn.exec, dir)).toEqual(['20261128000000_first', '20261129000000_second']);
    expect(await applyMigrations(conn.exec, dir)).toEqual([]);
    const columns = await rows(`SELECT column_name FROM information_schema.columns WHERE table_name = 'probe' ORDER BY 1`);
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'note']);
    // A migration applied here but absent from an (older) folder is ignored, as by `migrate deploy`.
    expect(await applyMigrations(conn.exec, db.migrationsDir)).toEqual([]);
  });

  it('rolls a failing migration back entirely and records nothing, so a fixed file can be retried', async () => {
    const name = '20261130000000_broken';
    const broken = await migrationsWith({ [name]: 'CREATE TABLE half_done (id INTEGER);\nSELECT * FROM no_such_table;' });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await applyMigrations(conn.exec, broken).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({ migration: name });
      expect((error as Error).message).toContain(name);
    }
    expect(await rows(`SELECT to_regclass('half_done') AS t`)).toEqual([{ t: null }]);
    expect(await rows('SELECT 1 FROM _prisma_migrations WHERE migration_name = $1', [name])).toHaveLength(0);

    const fixed = await migrationsWith({ [name]: 'CREATE TABLE half_done (id INTEGER);' });
    expect(await applyMigrations(conn.exec, fixed)).toEqual([name]);
  });

  it('refuses to go on past a migration that failed under `prisma migrate deploy`', async () => {
    const name = '20261201000000_failed_elsewhere';
    await rows(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count)
       VALUES (gen_random_uuid()::text, 'x', $1, 'boom', now(), 0)`,
      [name],
    );
    try {
      const dir = await migrationsWith({ [name]: 'SELECT 1;' });
      await expect(applyMigrations(conn.exec, dir)).rejects.toMatchObject({ name: 'MigrationError', migration: name });
    } finally {
      await rows('DELETE FROM _prisma_migrations WHERE migration_name = $1', [name]);
    }
  });

  it('names a migration folder that has no migration.sql', async () => {
    const name = '20261202000000_empty';
    const dir = await migrationsWith({ [name]: null });
    await expect(applyMigrations(conn.exec, dir)).rejects.toMatchObject({ name: 'MigrationError', migration: name });
  });
});

describe('applyMigrations on a shared Postgres', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db?.drop();
  });

  async function session(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  it('waits at most lockTimeoutMs for another run holding the lock', async () => {
    const holder = await session();
    const waiter = await session();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const started = Date.now();
      await expect(applyMigrations(pgExecutor(waiter), db.migrationsDir, { lockTimeoutMs: 200 })).rejects.toThrow(/migration lock/);
      expect(Date.now() - started).toBeLessThan(5000);
      // The failed wait left no transaction open and the session's lock_timeout untouched.
      expect((await waiter.query('SHOW lock_timeout')).rows).toEqual([{ lock_timeout: '0' }]);
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });

  it('two replicas starting together both succeed and the migration is applied once', async () => {
    const [a, b] = await Promise.all([session(), session()]);
    const results = await Promise.all([applyMigrations(pgExecutor(a), db.migrationsDir), applyMigrations(pgExecutor(b), db.migrationsDir)]);
    expect(results.map((r) => r.join()).sort()).toEqual(['', ALL.join()]);
    const { rows } = await a.query('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name');
    expect(rows).toEqual(ALL.map((migration_name) => ({ migration_name })));
    // Both released the session-level advisory lock (of this database: other test files migrate
    // their own databases on the same server at the same time).
    const locks = await a.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [MIGRATION_LOCK_KEY],
    );
    expect(locks.rows).toHaveLength(0);
  });
});
