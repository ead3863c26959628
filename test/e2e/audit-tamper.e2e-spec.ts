import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { chainHash, linkEvents, toEventBody } from '../../src/audit/write/audit-chain.js';
import type { StoredEvent } from '../../src/audit/audit-event.js';
import { AuditSigner } from '../../src/audit/write/audit-signer.js';
import type { TamperKind } from '../../src/audit/read/audit-verifier.js';
import { PrismaService } from '../../src/database/prisma.service.js';
import { openTestAuditLog, type TestAuditLog } from '../support/audit-log.js';
import { auditGet, auditSettled, chatBody, postV1, startAuditGateway } from '../support/audit-gateway.js';
import { DATABASE_KINDS, DATABASE_SETUP_TIMEOUT_MS } from '../support/database.js';
import type { TestGateway } from '../support/test-gateway.js';

const EVENTS = 30;

/** A log of 30 events (calls, written in a few group commits) and a signed checkpoint of its head. */
async function seeded(kind: 'postgres' | 'pglite', signed: boolean): Promise<{ log: TestAuditLog; rows: StoredEvent[] }> {
  const log = await openTestAuditLog(kind, signed ? {} : { signingKeys: [] });
  for (let batch = 0; batch < EVENTS / 6; batch++) {
    await log.append(
      Array.from({ length: 6 }, (_, i) => ({
        type: i % 2 ? ('call.finished' as const) : ('call.started' as const),
        requestId: `req-${batch}-${i >> 1}`,
        callId: randomUUID(),
        endUser: 'alice',
        outcome: i % 2 ? ('success' as const) : null,
      })),
    );
  }
  await log.maintenance.checkpoint();
  return { log, rows: await log.read.scan({}, { limit: 1000 }) };
}

/** SQL literal for a stored event (the attacker writes rows by hand). */
function insertSql(e: StoredEvent): string {
  const v = (x: unknown) => (x === null || x === undefined ? 'NULL' : typeof x === 'number' ? String(x) : `'${String(x).replace(/'/g, "''")}'`);
  return `INSERT INTO audit_events (seq, id, type, recorded_at, instance_id, call_id, request_id, end_user, outcome, details, prev_hash, hash, key_id, signature)
          VALUES (${e.seq}, ${v(e.id)}, ${v(e.type)}, ${v(e.recordedAt.toISOString())}, ${v(e.instanceId)}, ${v(e.callId)}, ${v(e.requestId)}, ${v(e.endUser)}, ${v(e.outcome)},
                  ${e.details === null ? 'NULL' : v(JSON.stringify(e.details))}, ${v(e.prevHash)}, ${v(e.hash)}, ${v(e.keyId)}, ${v(e.signature)})`;
}

/** A forged event that links correctly after `after` (an attacker knows the algorithm, not the key). */
function forgedAfter(after: StoredEvent): StoredEvent {
  const body = toEventBody({
    id: randomUUID(),
    type: 'call.finished',
    requestId: 'forged',
    endUser: 'mallory',
    outcome: 'success',
    details: { note: 'never happened' },
  });
  return linkEvents({ seq: after.seq, hash: after.hash, recordedAt: after.recordedAt }, [body], after.recordedAt, new AuditSigner([]))[0];
}

type Tamper = (log: TestAuditLog, rows: StoredEvent[]) => Promise<unknown>;

const moveSeq = (log: TestAuditLog, from: number, to: number) => log.sql(`UPDATE audit_events SET seq = ${to} WHERE seq = ${from}`);

const TAMPERING: [string, TamperKind, number | 'tail', Tamper][] = [
  ['UPDATE of a field', 'edited', 10, (log) => log.sql(`UPDATE audit_events SET outcome = 'upstream_error' WHERE seq = 10`)],
  [
    'UPDATE of a field with the hash recomputed',
    'edited',
    10,
    async (log, rows) => {
      const row = { ...rows[9], endUser: 'mallory' };
      await log.sql(`UPDATE audit_events SET end_user = 'mallory', hash = '${chainHash(row.prevHash, row, row.recordedAt)}' WHERE seq = 10`);
    },
  ],
  ['UPDATE of the time', 'edited', 7, (log) => log.sql(`UPDATE audit_events SET recorded_at = recorded_at - interval '1 hour' WHERE seq = 7`)],
  [
    'UPDATE of the time it was recorded (write-ahead)',
    'edited',
    6,
    (log) => log.sql(`UPDATE audit_events SET received_at = received_at - interval '1 hour' WHERE seq = 6`),
  ],
  ['UPDATE clearing the time it was recorded', 'edited', 11, (log) => log.sql('UPDATE audit_events SET received_at = NULL WHERE seq = 11')],
  ['DELETE of a row', 'deleted', 12, (log) => log.sql('DELETE FROM audit_events WHERE seq = 12')],
  ['DELETE of the oldest rows', 'deleted', 1, (log) => log.sql('DELETE FROM audit_events WHERE seq <= 3')],
  ['DELETE of the newest rows', 'deleted', EVENTS - 2, (log) => log.sql(`DELETE FROM audit_events WHERE seq > ${EVENTS - 3}`)],
  ['INSERT of a forged row at the end', 'inserted', EVENTS + 1, (log, rows) => log.sql(insertSql(forgedAfter(rows[EVENTS - 1])))],
  [
    'INSERT of a forged row in the middle (later rows renumbered)',
    'inserted',
    15,
    async (log, rows) => {
      await log.sql('UPDATE audit_events SET seq = -seq WHERE seq >= 15');
      await log.sql('UPDATE audit_events SET seq = -seq + 1 WHERE seq < 0');
      await log.sql(insertSql({ ...forgedAfter(rows[13]), seq: 15 }));
    },
  ],
  [
    'INSERT of a copied row',
    'inserted',
    EVENTS + 1,
    (log) =>
      log.sql(
        `INSERT INTO audit_events (seq, id, type, recorded_at, call_id, request_id, end_user, outcome, prev_hash, hash, key_id, signature)
     SELECT ${EVENTS + 1}, '${randomUUID()}', type, recorded_at, call_id, request_id, end_user, outcome, prev_hash, hash, key_id, signature FROM audit_events WHERE seq = 4`,
      ),
  ],
  [
    'swapping two neighbouring rows',
    'reordered',
    8,
    async (log) => {
      await moveSeq(log, 8, -1);
      await moveSeq(log, 9, 8);
      await moveSeq(log, -1, 9);
    },
  ],
  [
    'swapping two distant rows',
    'reordered',
    5,
    async (log) => {
      await moveSeq(log, 5, -1);
      await moveSeq(log, 20, 5);
      await moveSeq(log, -1, 20);
    },
  ],
];

/** Puts the seeded rows and checkpoints back, so each case tampers with the same intact log. */
async function restore(log: TestAuditLog): Promise<void> {
  await log.sql('DELETE FROM audit_pending');
  await log.sql('DELETE FROM audit_events');
  await log.sql('DELETE FROM audit_checkpoints');
  await log.sql('INSERT INTO audit_events SELECT * FROM seeded_events');
  await log.sql('INSERT INTO audit_checkpoints SELECT * FROM seeded_checkpoints');
}

describe.each(DATABASE_KINDS)('tampering with the audit log in the database (%s)', (kind) => {
  for (const signed of [true, false]) {
    describe(signed ? 'signed' : 'without a signing key', () => {
      let log: TestAuditLog;
      let rows: StoredEvent[];

      beforeAll(async () => {
        ({ log, rows } = await seeded(kind, signed));
        await log.sql('CREATE TABLE seeded_events AS SELECT * FROM audit_events');
        await log.sql('CREATE TABLE seeded_checkpoints AS SELECT * FROM audit_checkpoints');
      }, DATABASE_SETUP_TIMEOUT_MS);

      afterAll(async () => {
        await log?.dispose();
      });

      it('verifies the intact log', async () => {
        await restore(log);
        expect(await log.verifier.verify()).toMatchObject({ ok: true, signed, checked: EVENTS, checkpointsChecked: 1 });
      });

      // Without the key, a forged row appended with a valid hash cannot be told from a real one.
      const cases = signed ? TAMPERING : TAMPERING.filter(([name]) => !/at the end/.test(name));
      it.each(cases)('catches %s: %s', async (_, expectedKind, seq, tamper) => {
        await restore(log);
        await tamper(log, rows);
        const report = await log.verifier.verify();
        expect(report.ok).toBe(false);
        expect(report.problem).toMatchObject({ kind: expectedKind, seq: seq === 'tail' ? expect.any(Number) : seq });
        expect(report.problem?.message).toEqual(expect.any(String));
      });

      if (!signed) {
        it('says what it cannot see: a forged row appended with a valid hash passes, with a warning', async () => {
          await restore(log);
          await log.sql(insertSql(forgedAfter(rows[EVENTS - 1])));
          const report = await log.verifier.verify();
          expect(report.ok).toBe(true);
          expect(report.warnings.join(' ')).toMatch(/no signing key loaded/);
        });
      }
    });
  }
});

/**
 * Before sealing, a recorded event sits in the inbox with no hash over it: what is and is not
 * detectable in that window (README, "Audit trail").
 */
describe.each(DATABASE_KINDS)('the window before sealing (%s)', (kind) => {
  let log: TestAuditLog;

  beforeAll(async () => {
    ({ log } = await seeded(kind, true));
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await log?.dispose();
  });

  const record = (requestId: string) =>
    log.writer.append({ id: randomUUID(), type: 'call.started', instanceId: log.service.instanceId, requestId, endUser: 'alice' });

  it('reports recorded events not sealed yet with their age, and is not fooled by them', async () => {
    const pending = await record('waiting');
    const report = await log.verifier.verify();
    expect(report).toMatchObject({ ok: true, checked: EVENTS, unsealed: { count: 1, oldestId: pending.id, maxLagMs: 60_000 } });
    expect(report.unsealed!.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect(report.notes.join(' ')).toMatch(/1 event recorded, not sealed yet \(\d+ ms old\)/);
    expect(report.warnings).toEqual([]);
    expect(report.summary).toMatch(/^OK: \d+ events verified .*; 1 pending \(\d+ ms old\): sealing runs every \d+ ms\.$/);
    await log.sequencer.sealNow();
    expect(await log.verifier.verify()).toMatchObject({ ok: true, checked: EVENTS + 1, unsealed: { count: 0, oldestId: null } });
  });

  it('fails when an event stays unsealed longer than AUDIT_SEAL_MAX_LAG_MS', async () => {
    const stuck = await record('stuck');
    // As if no sequencer had run for two minutes (or someone backdated the row).
    await log.sql(`UPDATE audit_pending SET received_at = received_at - interval '2 minutes' WHERE id = '${stuck.id}'`);
    const report = await log.verifier.verify();
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({
      kind: 'unsealed',
      eventId: stuck.id,
      message: expect.stringMatching(/still not sealed after \d+ ms \(bound 60000 ms\)/),
    });
    expect(report.unsealed!.oldestAgeMs).toBeGreaterThan(120_000 - 1);
    // The next sequencer seals it, and the chain covers it (recorded time as it was in the inbox).
    await log.sequencer.sealNow();
    expect((await log.verifier.verify()).ok).toBe(true);
    expect((await log.read.findById(stuck.id))?.seq).toEqual(expect.any(Number));
  });

  it('cannot see a pending row edited, inserted or deleted before it was sealed: the chain covers what the sequencer found', async () => {
    const before = (await log.read.bounds())!.last;
    const edited = await record('edit-me');
    const deleted = await record('delete-me');
    await log.sql(`UPDATE audit_pending SET end_user = 'mallory' WHERE id = '${edited.id}'`);
    await log.sql(`DELETE FROM audit_pending WHERE id = '${deleted.id}'`);
    const forged = randomUUID();
    await log.sql(`INSERT INTO audit_pending (id, type, request_id, end_user) VALUES ('${forged}', 'call.finished', 'forged', 'mallory')`);
    await log.sequencer.sealNow();
    // Verification passes: these happened before any hash existed.
    expect(await log.verifier.verify()).toMatchObject({ ok: true, problem: null });
    expect(await log.read.findById(edited.id)).toMatchObject({ endUser: 'mallory', seq: expect.any(Number) });
    expect(await log.read.findById(deleted.id)).toBeNull();
    expect((await log.read.findById(forged))?.signature).toEqual(expect.any(String));
    // What does show it: the writer's own count of what it recorded (here, its metrics; in production the SIEM's copy of the log lines).
    const sealedMine = await log.read.scan({ fromSeq: before + 1 }, { limit: 100 });
    expect(sealedMine.filter((e) => e.instanceId === log.service.instanceId)).toHaveLength(1);
    expect(sealedMine.some((e) => e.instanceId === null && e.requestId === 'forged')).toBe(true);
  });
});

describe.each(DATABASE_KINDS)('GET /audit/verify on a running gateway (%s)', (kind) => {
  let gw: TestGateway;
  let auditor: string;

  beforeAll(async () => {
    gw = await startAuditGateway({ db: kind });
    const team = (await gw.createKey(['chat'], 'team-a')).key;
    auditor = (await gw.createKey(['audit:read'], 'compliance')).key;
    for (let i = 0; i < 3; i++) await postV1(gw, team, '/chat-messages', chatBody(), `v-${i}`);
    await auditSettled(gw);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.close();
  });

  it('reports OK, then the first bad record after someone edits the database behind the gateway', async () => {
    expect((await auditGet(gw, auditor, '/audit/verify')).body).toMatchObject({ ok: true, signed: true, problem: null });
    const prisma = gw.app.get(PrismaService);
    const [row] = await prisma.client.$queryRawUnsafe<{ seq: bigint }[]>(`SELECT seq FROM audit_events WHERE request_id = 'v-1' AND type = 'call.finished'`);
    await prisma.client.$executeRawUnsafe(`UPDATE audit_events SET status = 200, outcome = 'success', total_tokens = 1 WHERE seq = ${row.seq}`);
    const res = await auditGet(gw, auditor, '/audit/verify');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: false,
      problem: { kind: 'edited', seq: Number(row.seq), event_id: expect.any(String), message: expect.stringMatching(/no longer matches its hash/) },
    });
  });
});
