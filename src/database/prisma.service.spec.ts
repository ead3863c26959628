import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, DATABASE_KINDS, MIGRATIONS_DIR, type TestDatabase } from '../../test/support/database.js';
import { ApiKeyRepository } from '../auth/api-key.repository.js';
import { AuditReadRepository } from '../audit/read/audit-read.repository.js';
import { databaseConfig } from '../config/config-namespaces.js';
import { Secret } from '../config/secret.js';
import { DatabaseModule } from './database.module.js';
import { DatabaseUnavailableError } from './database.errors.js';
import { openDatabase, PGLITE_IN_MEMORY, PGLITE_LOCK_FILE } from './open-database.js';
import { PrismaService } from './prisma.service.js';

type DatabaseConfig = ConfigType<typeof databaseConfig>;

function configFor(db: TestDatabase): DatabaseConfig {
  return {
    kind: db.kind,
    pgliteDir: db.pgliteDir,
    migrationsDir: db.migrationsDir,
    ...(db.url ? { url: new Secret(db.url) } : {}),
  };
}

describe.each(DATABASE_KINDS)('DatabaseModule wiring (%s)', (kind) => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await testDb?.drop();
  });

  it('opens and migrates on init, serves the repositories, pings, and closes on shutdown', async () => {
    @Global()
    @Module({ providers: [{ provide: databaseConfig.KEY, useValue: configFor(testDb) }], exports: [databaseConfig.KEY] })
    class TestConfigModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [TestConfigModule, DatabaseModule],
      providers: [ApiKeyRepository, AuditReadRepository],
    }).compile();
    const prisma = moduleRef.get(PrismaService);
    expect(() => prisma.client).toThrow(/not open/);

    await moduleRef.init();
    expect(prisma.kind).toBe(kind);
    await expect(prisma.ping(2000)).resolves.toBeUndefined();

    const keys = moduleRef.get(ApiKeyRepository);
    const id = randomUUID();
    await keys.insert({ id, name: 'wired', prefix: 'dgw_wired', hash: randomUUID(), scopes: ['chat'], apps: [] });
    expect((await keys.list()).map((k) => k.id)).toEqual([id]);
    expect(await moduleRef.get(AuditReadRepository).search({}, { limit: 10 })).toEqual([]);

    await moduleRef.close();
    expect(() => prisma.client).toThrow(/not open/);
    await expect(prisma.ping(100)).rejects.toThrow(/not open/);
  });

  it('reopens the database without applying anything; the rows are still there', async () => {
    const db = await openDatabase(testDb);
    try {
      expect(db.applied).toEqual([]); // migrated by the previous test
      expect((await db.client.apiKey.findMany()).map((k) => k.name)).toEqual(['wired']);
    } finally {
      await db.close();
      await db.close(); // idempotent
    }
  });

  if (kind === 'pglite') {
    it("lets one process at a time open a PGlite folder, and takes over a dead holder's lock", async () => {
      const lock = path.join(testDb.pgliteDir, PGLITE_LOCK_FILE);
      const writeLock = (pid: number) => writeFile(lock, JSON.stringify({ pid, host: os.hostname() }));

      await writeLock(process.ppid); // a live process that is not us
      await expect(openDatabase(testDb)).rejects.toThrow(`in use by process ${process.ppid}`);

      await writeLock(2 ** 22 + 4321); // above Linux's pid_max: certainly gone
      const db = await openDatabase(testDb);
      try {
        await expect(openDatabase(testDb)).rejects.toThrow(/already open in this process/);
        expect(JSON.parse(await readFile(lock, 'utf8'))).toEqual({ pid: process.pid, host: os.hostname() });
      } finally {
        await db.close();
      }
      await expect(readFile(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  }
});

describe('openDatabase', () => {
  it('refuses kind postgres without a URL', async () => {
    await expect(openDatabase({ kind: 'postgres', pgliteDir: '', migrationsDir: MIGRATIONS_DIR })).rejects.toThrow(/URL is required/);
  });

  it('fails to open when migrations cannot be applied', async () => {
    await expect(openDatabase({ kind: 'pglite', pgliteDir: PGLITE_IN_MEMORY, migrationsDir: '/nonexistent/migrations' })).rejects.toThrow(/ENOENT/);
  });
});

describe('PrismaService.ping on Postgres', () => {
  it('times out, and reports a database that went away, as DatabaseUnavailableError', async () => {
    const testDb = await createTestDatabase('postgres');
    const service = new PrismaService(configFor(testDb));
    try {
      await service.onModuleInit();
      await service.ping(2000);

      // Every pooled connection busy (pg's default pool has 10): the ping gives up on time.
      const busy = Array.from({ length: 10 }, async () => service.client.$executeRaw`SELECT pg_sleep(1)`);
      const started = Date.now();
      await expect(service.ping(150)).rejects.toMatchObject({ name: 'DatabaseUnavailableError', code: 'timeout' });
      expect(Date.now() - started).toBeLessThan(900);
      await Promise.all(busy);

      await testDb.drop(); // terminates the pool's connections, then drops the database
      const error = await service.ping(2000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toMatch(/^database unavailable/);
    } finally {
      await service.onModuleDestroy();
      await testDb.drop();
    }
  });
});
