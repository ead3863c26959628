import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openTestAuditLog, testAuditConfig, type TestAuditLog } from '../../../test/support/audit-log.js';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, DATABASE_KINDS } from '../../../test/support/database.js';
import { openDatabase } from '../../database/open-database.js';
import { GENESIS_HASH, linkEvents, toEventBody } from './audit-chain.js';
import { createAuditLog } from '../audit-log.js';
import { AuditRepository, instanceLockKey, SEAL_LOCK_KEY } from './audit.repository.js';

describe.each(DATABASE_KINDS)('AuditRepository (%s)', (kind) => {
  let log: TestAuditLog;

  beforeAll(async () => {
    log = await openTestAuditLog(kind);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await log?.dispose();
  });

  const link = (h: Parameters<typeof linkEvents>[0], b: Parameters<typeof linkEvents>[1], n: Date) => linkEvents(h, b, n, log.signer);

  it('records a batch in one insert, unsealed; sealing gives consecutive seq, linked hashes, one time, signatures', async () => {
    const before = await log.read.bounds();
    const bodies = [1, 2, 3].map((n) => toEventBody({ id: randomUUID(), type: 'call.started', requestId: `batch-${n}`, details: { n } }));
    const recorded = await log.repository.record(bodies);
    expect(recorded.map((e) => e.id)).toEqual(bodies.map((b) => b.id));
    expect(recorded.every((e) => e.receivedAt instanceof Date)).toBe(true);
    // Recorded is durable but not in the chain: no seq yet, listed among the unsealed.
    expect(await log.read.bounds()).toEqual(before);
    expect((await log.read.findById(bodies[0].id))?.seq).toBeNull();

    const result = await log.repository.seal(100, link);
    const stored = result!.sealed;
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(stored.map((e) => e.id)).toEqual(bodies.map((b) => b.id));
    expect(stored[0].prevHash).toBe(GENESIS_HASH);
    expect(new Set(stored.map((e) => e.recordedAt.getTime())).size).toBe(1);
    expect(stored.map((e) => e.receivedAt)).toEqual(recorded.map((e) => e.receivedAt));
    expect(stored.every((e) => e.recordedAt >= e.receivedAt!)).toBe(true);
    expect(stored.every((e) => e.signature && e.keyId === log.signer.keyId)).toBe(true);
    // What was sealed reads back identical, details (JSONB) included; the inbox is empty.
    expect(await log.read.findById(stored[1].id)).toEqual(stored[1]);
    expect((await log.read.pendingStatus()).count).toBe(0);
  });

  it('writes owner rows in the statement of a batch, or alone; an id keeps its first owner', async () => {
    const owners = (id: string, namespace: string) => ({ appAlias: 'app', kind: 'message', resourceId: id, namespace });
    const ownerOf = async (id: string) =>
      (await log.db.sql.query<{ namespace: string }>(`SELECT namespace FROM dify_resource_owners WHERE resource_id = $1`, [id]))[0]?.namespace;
    const body = toEventBody({ id: randomUUID(), type: 'call.started', requestId: 'with-owners' });
    const recorded = await log.repository.record([body], [owners('m-1', 'team-a'), owners('m-2', 'team-b')]);
    expect(recorded.map((e) => e.id)).toEqual([body.id]);
    expect(await ownerOf('m-1')).toBe('team-a');
    expect(await ownerOf('m-2')).toBe('team-b');
    expect(await log.repository.record([], [owners('m-1', 'team-b'), owners('m-3', 'team-b')])).toEqual([]);
    expect(await ownerOf('m-1')).toBe('team-a');
    expect(await ownerOf('m-3')).toBe('team-b');
    await log.repository.seal(100, link);
  });

  it('seals in batches of at most `limit`, in the order recorded', async () => {
    const bodies = Array.from({ length: 5 }, (_, n) => toEventBody({ id: randomUUID(), type: 'call.started', requestId: `order-${n}` }));
    for (const body of bodies) await log.repository.record([body]);
    const first = (await log.repository.seal(3, link))!.sealed;
    const second = (await log.repository.seal(3, link))!.sealed;
    expect([...first, ...second].map((e) => e.requestId)).toEqual(bodies.map((b) => b.requestId));
    expect(first).toHaveLength(3);
    expect(second[0].prevHash).toBe(first[2].hash);
  });

  it(
    'drops a batch linked ahead when the head moved before it was sealed: nothing is inserted after a stale head',
    async () => {
      const own = await openTestAuditLog(kind);
      try {
        const ownLink = (h: Parameters<typeof linkEvents>[0], b: Parameters<typeof linkEvents>[1], n: Date) => linkEvents(h, b, n, own.signer);
        const bodies = Array.from({ length: 6 }, (_, n) => toEventBody({ id: randomUUID(), type: 'call.started', requestId: `ahead-${n}` }));
        for (const body of bodies) await own.repository.record([body]);
        const first = (await own.repository.seal(3, ownLink))!;
        expect(first.more).toBe(true); // the next three are read and linked after first's last
        const moved = 'f'.repeat(64);
        await own.sql(`UPDATE audit_events SET hash = '${moved}' WHERE seq = ${first.sealed[2].seq}`);
        expect(await own.repository.seal(3, ownLink)).toEqual({ sealed: [], duplicates: 0, more: true });
        const second = (await own.repository.seal(3, ownLink))!;
        expect(second.sealed.map((e) => e.requestId)).toEqual(bodies.slice(3).map((b) => b.requestId));
        expect(second.sealed[0].prevHash).toBe(moved);
        expect(second.more).toBe(true); // a full batch: there may be more
        expect(await own.repository.seal(3, ownLink)).toEqual({ sealed: [], duplicates: 0, more: false });
      } finally {
        await own.dispose();
      }
    },
    DATABASE_SETUP_TIMEOUT_MS,
  );

  it('stores any text exactly as hashed: quotes, backslashes, array syntax, the word NULL, unicode, newlines', async () => {
    const tricky = ['a"b', 'back\\slash', '{x,y}', 'NULL', 'null', '', ' spaced ', 'émoji 🎉', 'line\nbreak', "it's", ',', '\\"'];
    const stored = await log.append(
      tricky.map((text, i) => ({
        type: 'call.started' as const,
        requestId: `tricky-${i}`,
        endUser: text,
        promptText: text,
        details: { text, list: [text, 1, true, null] },
      })),
    );
    for (const e of stored) expect(await log.read.findById(e.id)).toEqual(e);
    expect((await log.verifier.verify()).ok).toBe(true);
  });

  it('stores a retried batch once: ids already recorded, or already sealed, are skipped', async () => {
    const body = toEventBody({ id: randomUUID(), type: 'call.finished', requestId: 'retry' });
    await log.repository.record([body]);
    await log.repository.record([body, body]); // still in the inbox: the insert skips it
    await log.repository.seal(100, link);
    await log.repository.record([body]); // sealed meanwhile: the sequencer drops it
    expect(await log.repository.seal(100, link)).toEqual({ sealed: [], duplicates: 1, more: false });
    expect((await log.read.search({ requestId: 'retry' }, { limit: 10 })).length).toBe(1);
    expect((await log.read.pendingStatus()).count).toBe(0);
  });

  it('keeps one valid chain when many writers record at once', async () => {
    // Postgres: two more connection pools on the same database, as separate replicas would be.
    const others = kind === 'postgres' ? await Promise.all([1, 2].map(() => openDatabase(log.testDb))) : [];
    const writers = [log.writer, ...others.map((db) => createAuditLog(db, testAuditConfig()).writer)];
    const before = (await log.read.bounds())?.last ?? 0;
    try {
      await Promise.all(
        writers.flatMap((w, i) => Array.from({ length: 60 }, (_, n) => w.append({ id: randomUUID(), type: 'call.started', requestId: `replica-${i}-${n}` }))),
      );
      await log.sequencer.sealNow();
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
    expect((await log.read.pendingStatus()).count).toBe(0);
    await log.sql(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'read only'; END $$`);
    await log.sql(`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_pending FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
    try {
      await expect(log.repository.writeProbe()).rejects.toBeDefined();
    } finally {
      await log.sql('DROP TRIGGER refuse_audit ON audit_pending');
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
    // Recorded but never sealed (the process died before any sequencer ran): open all the same.
    const [unsealed, closedUnsealed] = await log.repository.record([
      toEventBody({ id: randomUUID(), type: 'call.started', instanceId: dead, callId: randomUUID(), requestId: 'open-unsealed' }),
      toEventBody({ id: randomUUID(), type: 'call.started', instanceId: dead, callId: randomUUID(), requestId: 'closed-unsealed' }),
    ]);
    await log.repository.record([
      toEventBody({ id: randomUUID(), type: 'call.finished', instanceId: dead, callId: closedUnsealed.callId, outcome: 'success' }),
    ]);

    const live = randomUUID();
    const release = await log.db.holdSessionLock(instanceLockKey(live));
    try {
      await log.repository.maintain(
        async (m) => {
          expect(await m.unfinishedInstances()).toContain(dead);
          expect(await m.isInstanceAlive(dead)).toBe(false);
          // PGlite is one process: no other instance can be alive there.
          expect(await m.isInstanceAlive(live)).toBe(kind === 'postgres');
          expect((await m.openCalls(dead)).map((e) => [e.id, e.seq])).toEqual([
            [open.id, open.seq],
            [unsealed.id, null],
          ]);
        },
        { skipIfBusy: false },
      );
    } finally {
      await release();
      await log.sequencer.sealNow();
    }
  });

  it('offers no update; deletes only through retention', () => {
    expect(Object.getOwnPropertyNames(AuditRepository.prototype).sort()).toEqual([
      'constructor',
      'inboxBounds',
      'maintain',
      'record',
      'releaseLease',
      'seal',
      'writeProbe',
    ]);
  });
});

describe('AuditRepository seal lease (postgres)', () => {
  it(
    'one sequencer at a time: while another session holds the lease, a round seals nothing and says so',
    async () => {
      const testDb = await createTestDatabase('postgres');
      const log = await openTestAuditLog('postgres', {}, testDb);
      const holder = new pg.Client({ connectionString: testDb.url });
      await holder.connect();
      try {
        const link = (h: Parameters<typeof linkEvents>[0], b: Parameters<typeof linkEvents>[1], n: Date) => linkEvents(h, b, n, log.signer);
        await log.repository.record([toEventBody({ id: randomUUID(), type: 'call.started', requestId: 'leased' })]);
        await holder.query('SELECT pg_advisory_lock($1::bigint)', [SEAL_LOCK_KEY]);
        expect(await log.repository.seal(100, link)).toBeNull();
        expect((await log.read.pendingStatus()).count).toBe(1);
        // The holder's session ends (a killed sequencer): the lease is free, the row is sealed.
        await holder.end();
        expect((await log.repository.seal(100, link))!.sealed.map((e) => e.requestId)).toEqual(['leased']);
      } finally {
        await holder.end().catch(() => undefined);
        await log.dispose();
        await testDb.drop();
      }
    },
    DATABASE_SETUP_TIMEOUT_MS,
  );
});

describe('AuditSequencer.sealNow beside a lease holder (postgres)', () => {
  it(
    'while another replica holds the lease, waits only until that replica has sealed what was recorded before the call',
    async () => {
      const testDb = await createTestDatabase('postgres');
      const holder = await openTestAuditLog('postgres', { seal: { intervalMs: 50, batchSize: 1000, maxLagMs: 60_000 } }, testDb);
      const other = await openTestAuditLog('postgres', {}, testDb);
      try {
        holder.sequencer.start();
        await holder.sequencer.sealNow(); // the holder now keeps the lease while it lives
        await other.repository.record([toEventBody({ id: randomUUID(), type: 'call.started', requestId: 'from-the-other' })]);
        const started = Date.now();
        expect(await other.sequencer.sealNow(30_000)).toBe(0); // the holder sealed it, not this one
        expect(Date.now() - started).toBeLessThan(15_000); // not the whole timeout
        expect((await other.read.pendingStatus()).count).toBe(0);
      } finally {
        await other.dispose();
        await holder.dispose();
        await testDb.drop();
      }
    },
    DATABASE_SETUP_TIMEOUT_MS,
  );
});

describe('AuditRepository maintenance lock (postgres)', () => {
  it(
    'lets one replica at a time do upkeep; the others skip',
    async () => {
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
    },
    DATABASE_SETUP_TIMEOUT_MS,
  );
});
