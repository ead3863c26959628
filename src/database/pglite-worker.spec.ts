import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { messages, type PGlite } from '@electric-sql/pglite';
import { randomUUID } from 'node:crypto';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, MIGRATIONS_DIR, type TestDatabase } from '../../test/support/database.js';
import { DatabaseUnavailableError, DuplicateKeyError, translateDriverError, translatePrismaError } from './database.errors.js';
import { applyMigrations, pgliteExecutor } from './migrate.js';
import { startPgliteWorker, type PgliteWorker } from './pglite-worker.js';

/** The PGlite worker thread's proxy on a real PGlite folder: what the adapter and raw SQL rely on. */
describe('PGlite in a worker thread', () => {
  let testDb: TestDatabase;
  let db: PgliteWorker;

  beforeAll(async () => {
    testDb = await createTestDatabase('pglite');
    db = startPgliteWorker(testDb.pgliteDir);
    await db.waitReady;
    await db.exec('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, at timestamptz)');
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('answers queries with params, in object and array row modes', async () => {
    await db.query('INSERT INTO items (id, name) VALUES ($1, $2)', [1, 'one']);
    const objects = await db.query<{ id: number; name: string }>('SELECT id, name FROM items WHERE id = $1', [1]);
    expect(objects.rows).toEqual([{ id: 1, name: 'one' }]);
    expect(objects.fields.map((f) => f.name)).toEqual(['id', 'name']);
    const arrays = await db.query('SELECT id, name FROM items WHERE id = $1', [1], { rowMode: 'array' });
    expect(arrays.rows).toEqual([[1, 'one']]);
    const inserted = await db.query('INSERT INTO items (id, name) VALUES (2, $1), (3, $1)', ['two']);
    expect(inserted.affectedRows).toBe(2);
    await db.query('DELETE FROM items WHERE id IN (2, 3)');
  });

  it("runs the caller's custom parsers on the main thread (functions cannot cross threads); null stays null", async () => {
    await db.query("INSERT INTO items (id, name, at) VALUES (10, 'ten', '2026-01-02T03:04:05Z'), (11, 'eleven', NULL)");
    const parsers = { 1184: (text: string, typeId?: number) => `parsed ${typeId}: ${text}` };
    const result = await db.query('SELECT id, at FROM items WHERE id >= 10 ORDER BY id', [], { rowMode: 'array', parsers });
    expect(result.rows).toEqual([
      [10, 'parsed 1184: 2026-01-02 03:04:05+00'],
      [11, null],
    ]);
    // Without custom parsers PGlite's own apply, in the worker.
    const plain = await db.query<{ at: Date }>('SELECT at FROM items WHERE id = 10');
    expect(plain.rows[0].at).toEqual(new Date('2026-01-02T03:04:05Z'));
    await db.query('DELETE FROM items WHERE id >= 10');
  });

  it("keeps PGlite's error class and fields (the adapter and database.errors.ts map them)", async () => {
    await db.query("INSERT INTO items (id, name) VALUES (20, 'twenty')");
    const err = (await db.query("INSERT INTO items (id, name) VALUES (20, 'again')").catch((e: unknown) => e)) as messages.DatabaseError;
    expect(err).toBeInstanceOf(messages.DatabaseError);
    expect(err).toMatchObject({ code: '23505', severity: 'ERROR', constraint: 'items_pkey', table: 'items', detail: 'Key (id)=(20) already exists.' });
    expect(err.message).toMatch(/duplicate key value violates unique constraint "items_pkey"/);
    expect(translateDriverError(err)).toBeInstanceOf(DuplicateKeyError);

    const syntax = (await db.query('SELEC 1').catch((e: unknown) => e)) as messages.DatabaseError;
    expect(syntax).toMatchObject({ code: '42601', severity: 'ERROR', position: '1' });
    await db.query('DELETE FROM items WHERE id = 20');
  });

  it('commits a transaction, and rolls it back when its callback throws or asks to', async () => {
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO items (id, name) VALUES (30, 'kept')");
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO items (id, name) VALUES (31, 'thrown')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO items (id, name) VALUES (32, 'rolled back')");
      await tx.rollback();
      expect(tx.closed).toBe(true);
      await expect(tx.query('SELECT 1')).rejects.toThrow('Transaction is closed');
    });
    const { rows } = await db.query<{ id: number }>('SELECT id FROM items WHERE id >= 30 ORDER BY id');
    expect(rows).toEqual([{ id: 30 }]);
    await db.query('DELETE FROM items WHERE id >= 30');
  });

  it('runs nothing else while a transaction is open: a concurrent query waits for the commit', async () => {
    const order: string[] = [];
    let concurrent: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO items (id, name) VALUES (40, 'in tx')");
      concurrent = db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id = 40').then((r) => {
        order.push('query');
        return r.rows[0].n;
      });
      // Give the worker ample time to (wrongly) run the outside query between the tx's statements.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.query("UPDATE items SET name = 'still in tx' WHERE id = 40");
      order.push('tx done');
    });
    // It ran after the commit, so it saw the committed row.
    await expect(concurrent).resolves.toBe(1);
    expect(order).toEqual(['tx done', 'query']);
    await db.query('DELETE FROM items WHERE id = 40');
  });
});

describe('PGlite worker stopping', () => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase('pglite');
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await testDb?.drop();
  });

  it('rejects calls after close, with a "connection does not exist" code', async () => {
    const db = startPgliteWorker(testDb.pgliteDir);
    await db.waitReady;
    await db.close();
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: '08003' });
  });

  it('fails pending and later calls closed, as the database being unavailable, when the worker dies', async () => {
    const db = startPgliteWorker(testDb.pgliteDir);
    await db.waitReady;
    // A statement that is still running when the thread is killed.
    const pending = db.query('SELECT count(*) FROM generate_series(1, 1000000000)').catch((e: unknown) => e);
    const open = db.transaction(() => new Promise(() => undefined)).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await db.kill();
    const err = (await pending) as messages.DatabaseError;
    expect(err).toBeInstanceOf(messages.DatabaseError);
    expect(err).toMatchObject({ code: '08006', severity: 'FATAL' });
    expect(translateDriverError(err)).toBeInstanceOf(DatabaseUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(db.closed).toBe(true);
    await expect(open).resolves.toBeInstanceOf(messages.DatabaseError);
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: '08006' });
    await expect(db.transaction(async () => 1)).rejects.toMatchObject({ code: '08006' });
    await db.close(); // idempotent after a crash, no hang
  });

  it(
    'through Prisma (PrismaPGlite on the proxy): an interactive transaction, a duplicate, then a dead worker reads as unavailable',
    async () => {
      const db = startPgliteWorker(testDb.pgliteDir);
      await db.waitReady;
      await applyMigrations(pgliteExecutor(db), MIGRATIONS_DIR);
      const prisma = new PrismaClient({ adapter: new PrismaPGlite(db as unknown as PGlite) });
      try {
        const hash = `hash-${Date.now()}`;
        const data = { id: randomUUID(), name: 'worker', hash, prefix: 'gw_x', scopes: ['chat'], apps: [], namespace: 'ns' };
        const created = await prisma.$transaction(async (tx) => tx.apiKey.create({ data }));
        expect(created.createdAt).toBeInstanceOf(Date);
        expect(created.scopes).toEqual(['chat']);
        const duplicate = await prisma.apiKey.create({ data: { ...data, id: randomUUID() } }).catch((e: unknown) => e);
        expect(translatePrismaError(duplicate, 'api key')).toBeInstanceOf(DuplicateKeyError);
        await db.kill();
        const ping = await prisma.$queryRaw`SELECT 1`.catch((e: unknown) => e);
        expect(translatePrismaError(ping, 'ping')).toBeInstanceOf(DatabaseUnavailableError);
      } finally {
        await prisma.$disconnect();
        await db.close();
      }
    },
    DATABASE_SETUP_TIMEOUT_MS,
  );
});
