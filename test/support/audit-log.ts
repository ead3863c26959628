import { randomUUID } from 'node:crypto';
import { createAuditLog, type AuditLog } from '../../src/audit/audit-log.js';
import type { EventDraft, StoredEvent } from '../../src/audit/audit-event.js';
import type { AuditConfig } from '../../src/config/gateway-config.js';
import { Secret } from '../../src/config/secret.js';
import { openDatabase, type OpenDatabase } from '../../src/database/open-database.js';
import { createTestDatabase, type TestDatabase, type TestDatabaseKind } from './database.js';

/** A signing key for tests (never a real one). */
export const TEST_SIGNING_KEY = 'test-audit-signing-key-0123456789abcdef0123456789';

export function testAuditConfig(overrides: Partial<AuditConfig> = {}): AuditConfig {
  return {
    storeText: false,
    signingKeys: [new Secret(TEST_SIGNING_KEY)],
    retentionDays: 0,
    checkpointIntervalMs: 60_000,
    batch: { maxSize: 256, maxWaitMs: 0 },
    writeTimeoutMs: 5_000,
    seal: { intervalMs: 100, batchSize: 5_000, maxLagMs: 60_000 },
    ...overrides,
  };
}

export interface TestAuditLog extends AuditLog {
  testDb: TestDatabase;
  db: OpenDatabase;
  /** Records drafts (ids filled in) through the writer, in one go, then seals them; returns them sealed. */
  append(drafts: Partial<EventDraft>[]): Promise<StoredEvent[]>;
  /** Raw SQL on the same database, for tampering. */
  sql(query: string): Promise<number>;
  /** Closes the log and the database, and drops the database. */
  dispose(): Promise<void>;
}

/**
 * A fresh (already migrated) database with the audit log wired by hand (no Nest), for repository
 * and tamper tests. Sealing runs in process, on the repository's own lease (the tests call
 * `repository.seal` beside the sequencer); the gateway's worker thread is tested in
 * seal-thread.spec and by every test that starts the app.
 */
export async function openTestAuditLog(kind: TestDatabaseKind, overrides: Partial<AuditConfig> = {}, existing?: TestDatabase): Promise<TestAuditLog> {
  const testDb = existing ?? (await createTestDatabase(kind, { migrated: true }));
  const db = await openDatabase(testDb);
  const log = createAuditLog(db, testAuditConfig(overrides), { sealInProcess: true });
  return {
    ...log,
    testDb,
    db,
    async append(drafts) {
      const recorded = await Promise.all(drafts.map((d) => log.writer.append({ id: randomUUID(), type: 'call.started', ...d })));
      await log.sequencer.sealNow();
      const sealed = await Promise.all(recorded.map((e) => log.read.findById(e.id)));
      return sealed.map((e, i) => {
        if (!e || e.seq === null) throw new Error(`event ${recorded[i].id} was not sealed`);
        return e;
      });
    },
    sql: (query) => db.client.$executeRawUnsafe(query),
    async dispose() {
      await log.close();
      await db.close();
      if (!existing) await testDb.drop();
    },
  };
}
