import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createAuditLog, type AuditLog } from '../audit-log.js';
import { openDatabase, type OpenDatabase } from '../../database/open-database.js';
import { TEST_SIGNING_KEY, testAuditConfig } from '../../../test/support/audit-log.js';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, type TestDatabase } from '../../../test/support/database.js';
import { SealThread } from './seal-thread-client.js';

/** The sequencer's rounds in their worker thread, on a real Postgres (the only kind that uses it). */
describe('SealThread (postgres)', () => {
  let testDb: TestDatabase;
  let db: OpenDatabase;
  let log: AuditLog;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres', { migrated: true });
    db = await openDatabase(testDb);
    log = createAuditLog(db, testAuditConfig());
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await log?.close();
    await db?.close();
    await testDb?.drop();
  });

  const record = (n: number, tag: string) =>
    Promise.all(Array.from({ length: n }, (_, i) => log.writer.append({ id: randomUUID(), type: 'call.started', requestId: `${tag}-${i}` })));

  it('seals what the main thread recorded into a chain that verifies, and reports each seal lag', async () => {
    const lags: number[] = [];
    log.sequencer.onSealed = (l) => lags.push(...l);
    const recorded = await record(40, 'thread');
    expect(await log.sequencer.sealNow()).toBe(40);
    const sealed = await Promise.all(recorded.map((e) => log.read.findById(e.id)));
    expect(sealed.every((e) => e !== null && e.seq !== null && e.keyId === log.signer.keyId)).toBe(true);
    expect(lags).toHaveLength(40);
    expect(lags.every((s) => s >= 0 && s < 60)).toBe(true);
    expect((await log.verifier.verify()).ok).toBe(true);
    expect((await log.read.pendingStatus()).count).toBe(0);
  });

  it('holds the lease like a replica: a second thread seals nothing until the first gives it up', async () => {
    const other = new SealThread({ connectionString: testDb.url!, signingKeys: [TEST_SIGNING_KEY] }, log.repository);
    try {
      await record(3, 'lease');
      expect(await log.sequencer.sealNow()).toBe(3); // takes (keeps) the lease
      await record(2, 'other');
      expect(await other.seal(100)).toBeNull();
      await log.sequencer.close(); // releases the lease and ends its thread
      expect(await other.seal(100)).toMatchObject({ count: 2, duplicates: 0, more: false });
      expect((await log.verifier.verify()).ok).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('fails the rounds of a thread that dies instead of leaving them waiting, and starts a new thread for the next', async () => {
    // A key that is not a string makes the thread throw as it starts (Secret refuses it).
    const broken = new SealThread({ connectionString: testDb.url!, signingKeys: [42 as unknown as string] }, log.repository);
    try {
      await expect(broken.seal(10)).rejects.toThrow('the audit sealing thread failed (TypeError)');
      await expect(broken.seal(10)).rejects.toThrow('the audit sealing thread failed (TypeError)');
    } finally {
      await broken.close();
    }
  });

  it('fails a round on an unreachable database with a fixed message, no part of the URL in it', async () => {
    const canary = 'canary-db-password-7f3a';
    const lost = new SealThread({ connectionString: `postgresql://gw:${canary}@127.0.0.1:1/nowhere`, signingKeys: [TEST_SIGNING_KEY] }, log.repository);
    try {
      const error = (await lost.seal(10).then(
        () => null,
        (e: unknown) => e,
      )) as Error & { code?: string };
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe('DatabaseUnavailableError');
      expect(error.code).toBe('ECONNREFUSED');
      expect(`${error.message} ${error.stack}`).not.toContain(canary);
      expect(error.message).not.toContain('127.0.0.1');
    } finally {
      await lost.close();
    }
  });
});
