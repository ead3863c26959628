import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { openTestAuditLog, testAuditConfig, type TestAuditLog } from '../../test/support/audit-log.js';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, DATABASE_KINDS } from '../../test/support/database.js';
import { openDatabase } from '../database/open-database.js';
import { GENESIS_HASH, linkEvents, toEventBody } from './audit-chain.js';
import { createAuditLog } from './audit-log.js';
import { AuditRepository, instanceLockKey } from './audit.repository.js';

describe.each(DATABASE_KINDS)('AuditRepository (%s)', (kind) => {
  let log: TestAuditLog;

  beforeAll(async () => {
    log = await openTestAuditLog(kind);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await log?.dispose();
  });

  it('appends a batch in one go: consecutive seq, linked hashes, one database time, signed', async () => {
    const link = (h: Parameters<typeof linkEvents>[0], b: Parameters<typeof linkEvents>[1], n: Date) => linkEvents(h, b, n, log.signer);
    const bodies = [1, 2, 3].map((n) => toEventBody({ id: randomUUID(), type: 'call.started', requestId: `batch-${n}`, details: { n } }));
    const stored = await log.repository.append(bodies, link);
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(stored[0].prevHash).toBe(GENESIS_HASH);
    expect(new Set(stored.map((e) => e.recordedAt.getTime())).size).toBe(1);
    expect(stored.every((e) => e.signature && e.keyId === log.signer.keyId)).toBe(true);
    // What was stored reads back identical, details (JSONB) included.
    expect(await log.read.findById(stored[1].id)).toEqual(stored[1]);
  });

  it('stores any text exactly as hashed: quotes, backslashes, array syntax, the word NULL, unicode, newlines', async () => {
    const tricky = ['a"b', 'back\\slash', '{x,y}', 'NULL', 'null', '', ' spaced ', 'émoji 🎉', 'line\nbreak', "it's", ',', '\\"'];
    const stored = await log.append(tricky.map((text, i) => ({ type: 'call.started' as const, requestId: `tricky-${i}`, endUser: text, promptText: text, details: { text, list: [text, 1, true, null] } })));
    for (const e of stored) expect(await log.read.findById(e.id)).toEqual(e);
    expect((await log.verifier.verify()).ok).toBe(true);
  });

  it('stores a retried batch once: ids already in the chain are skipped', async () => {
    const link = (h: Parameters<typeof linkEvents>[0], b: Parameters<typeof linkEvents>[1], n: Date) => linkEvents(h, b, n, log.signer);
    const body = toEventBody({ id: randomUUID(), type: 'call.finished', requestId: 'retry' });
    const first = await log.repository.append([body], link);
    const again = await log.repository.append([body, body], link, { dedupe: true });
    expect(first).toHaveLength(1);
    expect(again).toEqual([]);
    expect((await log.read.search({ requestId: 'retry' }, { limit: 10 })).length).toBe(1);
  });

  it('keeps one valid chain when many writers append at once', async () => {
    // Postgres: two more connection pools on the same database, as separate replicas would be.
    const others = kind === 'postgres' ? await Promise.all([1, 2].map(() => openDatabase(log.testDb))) : [];
    const writers = [log.writer, ...others.map((db) => createAuditLog(db, testAuditConfig()).writer)];
    const before = (await log.read.bounds())?.last ?? 0;
    try {
      await Promise.all(writers.flatMap((w, i) => Array.from({ length: 60 }, (_, n) => w.append({ id: randomUUID(), type: 'call.started', requestId: `replica-${i}-${n}` }))));
      const report = await log.verifier.verify();
      expect(report).toMatchObject({ ok: true, problem: null });
      const bounds = await log.read.bounds();
      expect(bounds).toEqual({ first: 1, last: report.checked });
      expect(report.checked).toBe(before + writers.length * 60);
    } finally {
      await Promise.all(others.map((db) => db.close()));
    }
  });

  it('a write probe proves the log is writable and leaves nothing behind; it fails when inserts are refused', async () => {
    const before = await log.read.bounds();
    await log.repository.writeProbe();
    expect(await log.read.bounds()).toEqual(before);
    await log.sql(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'read only'; END $$`);
    await log.sql(`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
    try {
      await expect(log.repository.writeProbe()).rejects.toBeDefined();
    } finally {
      await log.sql('DROP TRIGGER refuse_audit ON audit_events');
      await log.sql('DROP FUNCTION refuse_audit');
    }
    await log.repository.writeProbe();
  });

  it('finds the calls a dead instance left open, and tells a live instance from a dead one', async () => {
    const dead = randomUUID();
    const [started] = await log.append([{ type: 'gateway.started', instanceId: dead }]);
    const [open, closed] = await log.append([
      { type: 'call.started', instanceId: dead, callId: randomUUID(), requestId: 'open-call' },
      { type: 'call.started', instanceId: dead, callId: randomUUID(), requestId: 'closed-call' },
    ]);
    await log.append([{ type: 'call.finished', instanceId: dead, callId: closed.callId, outcome: 'success' }]);
    expect(started.seq).toBeGreaterThan(0);

    const live = randomUUID();
    const release = await log.db.holdSessionLock(instanceLockKey(live));
    try {
      await log.repository.maintain(async (m) => {
        expect(await m.unfinishedInstances()).toContain(dead);
        expect(await m.isInstanceAlive(dead)).toBe(false);
        // PGlite is one process: no other instance can be alive there.
        expect(await m.isInstanceAlive(live)).toBe(kind === 'postgres');
        expect((await m.openCalls(dead)).map((e) => e.id)).toEqual([open.id]);
      }, { skipIfBusy: false });
    } finally {
      await release();
    }
  });

  it('offers no update; deletes only through retention', () => {
    expect(Object.getOwnPropertyNames(AuditRepository.prototype).sort()).toEqual(['append', 'constructor', 'maintain', 'writeProbe']);
  });
});

describe('AuditRepository maintenance lock (postgres)', () => {
  it('lets one replica at a time do upkeep; the others skip', async () => {
    const testDb = await createTestDatabase('postgres');
    const a = await openTestAuditLog('postgres', {}, testDb);
    const b = await openTestAuditLog('postgres', {}, testDb);
    try {
      let release!: () => void;
      const holding = a.repository.maintain(() => new Promise<string>((resolve) => (release = () => resolve('a'))), { skipIfBusy: false });
      await new Promise((r) => setTimeout(r, 200));
      expect(await b.repository.maintain(async () => 'b', { skipIfBusy: true })).toBeUndefined();
      release();
      expect(await holding).toBe('a');
      expect(await b.repository.maintain(async () => 'b', { skipIfBusy: true })).toBe('b');
    } finally {
      await a.dispose();
      await b.dispose();
      await testDb.drop();
    }
  }, DATABASE_SETUP_TIMEOUT_MS);
});
