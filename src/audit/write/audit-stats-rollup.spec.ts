import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openTestAuditLog, type TestAuditLog } from '../../../test/support/audit-log.js';
import { statsFromLog } from '../../../test/support/audit-stats-reference.js';
import { createTestDatabase, DATABASE_KINDS, DATABASE_SETUP_TIMEOUT_MS, MIGRATIONS_DIR, type TestDatabase } from '../../../test/support/database.js';
import type { EventDraft, StoredEvent } from '../audit-event.js';
import type { StatsDimension, StatsFilter, StatsKey, StatsRow } from '../read/audit-read.repository.js';
import { openDatabase } from '../../database/open-database.js';
import { linkEvents, toEventBody } from './audit-chain.js';
import { AuditSigner } from './audit-signer.js';
import { INSERT_SEALED_SQL, sealedJson } from './audit-statements.js';

/** Hundreds of comparisons, each two queries: on a busy machine, PGlite needs the time. */
const SLOW_MS = 180_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEYS = [randomUUID(), randomUUID()];
const GROUPINGS: StatsDimension[][] = [['day', 'caller', 'app'], ['day'], ['caller'], ['app'], ['caller', 'app'], []];
/** A short batch, so that a few dozen events take several sealing rounds. */
const SMALL_BATCHES = { seal: { intervalMs: 100, batchSize: 7, maxLagMs: 60_000 } };

/** A finished (or started) call with a varied mix of nulls, names, apps, outcomes and currencies. */
function draft(i: number): Partial<EventDraft> {
  const priced = i % 3 !== 0;
  return {
    type: i % 5 === 4 ? 'call.started' : 'call.finished',
    callerKeyId: i % 7 === 6 ? null : KEYS[i % 2],
    callerName: i % 7 === 6 ? null : `team-${i % 2}${i > 150 ? '-renamed' : ''}`,
    appAlias: [null, 'support', 'billing'][i % 3],
    outcome: i % 4 === 0 ? 'client_error' : i % 11 === 0 ? null : 'success',
    totalTokens: i % 6 === 0 ? null : 10 + i,
    totalPrice: priced ? ['0.0012', '1.5', '0.00000001', '2'][i % 4] : null,
    currency: i % 8 === 0 ? null : i % 5 === 0 ? 'EUR' : 'USD',
  };
}

/** Seals `count` events at times spread over the last three days, through the seal's own statement (linked after the head). */
async function sealHistory(log: TestAuditLog, count: number, start: number): Promise<StoredEvent[]> {
  let [last] = await log.read.search({}, { limit: 1 });
  let head = last ? { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt } : { seq: 0, hash: '0'.repeat(64), recordedAt: null };
  const all: StoredEvent[] = [];
  for (let i = 0; i < count; i += 5) {
    const bodies = Array.from({ length: 5 }, (_, k) => toEventBody({ id: randomUUID(), ...draft(i + k) } as EventDraft));
    // Uneven steps (about 72 minutes), so windows fall on and off hour and day boundaries.
    const events = linkEvents(head, bodies, new Date(start + (i / 5) * 4_320_017), log.signer);
    await log.db.sql.query(INSERT_SEALED_SQL, [sealedJson(events)]);
    last = events[events.length - 1];
    head = { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt };
    all.push(...events);
  }
  return all;
}

/** Windows around the events: aligned and not, inside one hour, across days, open-ended, empty, reversed. */
function windows(first: number, last: number): { from?: Date; to?: Date }[] {
  const d = (t: number) => new Date(t);
  const day0 = Math.ceil(first / DAY) * DAY;
  return [
    {},
    { from: d(first) },
    { to: d(last + 1) },
    { from: d(first + 90 * 60_000 + 17), to: d(last - 5 * HOUR - 3) },
    { from: d(day0), to: d(day0 + DAY) },
    { from: d(day0 - 30 * 60_000), to: d(day0 + 25 * HOUR + 60_000) },
    { from: d(day0 + 2 * HOUR + 1), to: d(day0 + 2 * HOUR + 50 * 60_000) },
    { from: d(day0 + 3 * HOUR), to: d(day0 + 9 * HOUR) },
    { from: d(day0 + 3 * HOUR + 5), to: d(day0 + 9 * HOUR - 5) },
    { from: d(day0 + 7 * HOUR + 13) },
    { from: d(last + HOUR) },
    { from: d(day0 + HOUR), to: d(day0 - HOUR) },
  ];
}

/** Every group, read `limit` at a time, each page starting after the last group of the one before. */
async function statsInPages(log: TestAuditLog, filter: StatsFilter, groupBy: StatsDimension[], limit: number): Promise<StatsRow[]> {
  const all: StatsRow[] = [];
  let after: StatsKey | undefined;
  // Bounded: a cursor that does not move on fails here rather than by the test's timeout.
  for (let pages = 0; pages < 100; pages++) {
    const page = await log.read.stats(filter, groupBy, { limit, after });
    expect(page.length).toBeLessThanOrEqual(limit);
    all.push(...page);
    if (page.length < limit) return all;
    const last = page[page.length - 1];
    after = { day: last.day, callerKeyId: last.callerKeyId, appAlias: last.appAlias };
  }
  throw new Error(`more than 100 pages of ${limit}: the cursor does not move on`);
}

async function expectSameAsLog(log: TestAuditLog, first: number, last: number, few = false): Promise<void> {
  for (const window of few ? windows(first, last).slice(0, 4) : windows(first, last)) {
    for (const groupBy of GROUPINGS) {
      for (const narrow of [{}, { callerKeyId: KEYS[0] }, { appAlias: 'billing' }, { callerKeyId: KEYS[1], appAlias: 'support' }]) {
        const filter = { ...window, ...narrow };
        const expected = await statsFromLog(log.db, log.read, filter, groupBy);
        expect({ filter, groupBy, rows: await log.read.stats(filter, groupBy) }).toEqual({ filter, groupBy, rows: expected });
        if (Object.keys(narrow).length === 0)
          expect({ filter, groupBy, rows: await statsInPages(log, filter, groupBy, 4) }).toEqual({ filter, groupBy, rows: expected });
      }
    }
  }
}

describe.each(DATABASE_KINDS)('audit statistics rollup (%s)', (kind) => {
  let testDb: TestDatabase;
  let log: TestAuditLog;
  let first: number;

  beforeAll(async () => {
    testDb = await createTestDatabase(kind, { migrated: true });
    log = await openTestAuditLog(kind, { ...SMALL_BATCHES, retentionDays: 2 }, testDb);
    first = (await sealHistory(log, 300, Date.now() - 3 * DAY))[0].recordedAt.getTime();
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await log?.dispose();
    await testDb?.drop();
  });

  it(
    'answers every window, grouping and filter exactly as a scan of the log does, across seal batches and a restart',
    async () => {
      const sealed = await log.append(Array.from({ length: 40 }, (_, i) => draft(i + 300)));
      expect(new Set(sealed.map((e) => e.seq)).size).toBe(40);
      // Restart: a new process on the same database carries on where the rollup stands.
      await log.dispose();
      log = await openTestAuditLog(kind, { ...SMALL_BATCHES, retentionDays: 2 }, testDb);
      const more = await log.append(Array.from({ length: 30 }, (_, i) => draft(i + 7)));
      await expectSameAsLog(log, first, more.at(-1)!.recordedAt.getTime());
      const [total] = await log.read.stats({}, []);
      const drafted = [...Array(300).keys(), ...Array.from({ length: 40 }, (_, i) => i + 300), ...Array.from({ length: 30 }, (_, i) => i + 7)];
      expect(total.calls).toBe(drafted.filter((i) => i % 5 !== 4).length);
    },
    SLOW_MS,
  );

  it('counts an event only once it is sealed (as the log scan did: unsealed events are not in the statistics)', async () => {
    const [before] = await log.read.stats({}, []);
    const recorded = await log.writer.append({ id: randomUUID(), ...draft(1) } as EventDraft);
    expect((await log.read.findById(recorded.id))?.seq).toBeNull();
    expect((await log.read.stats({}, []))[0]).toEqual(before);
    await log.sequencer.sealNow();
    expect((await log.read.stats({}, []))[0].calls).toBe(before.calls + 1);
  });

  it('keeps what was sealed when a row is edited afterwards; verification names the edited event', async () => {
    const [victim] = await log.read.search({ type: 'call.finished', callerKeyId: KEYS[0] }, { limit: 1 });
    const before = await log.read.stats({ callerKeyId: KEYS[0] }, []);
    await log.sql(`UPDATE audit_events SET total_tokens = coalesce(total_tokens, 0) + 1000000 WHERE seq = ${victim.seq}`);
    expect(await log.read.stats({ callerKeyId: KEYS[0] }, [])).toEqual(before);
    expect((await statsFromLog(log.db, log.read, { callerKeyId: KEYS[0] }, []))[0].totalTokens).toBe(before[0].totalTokens + 1_000_000);
    expect((await log.verifier.verify()).problem).toMatchObject({ seq: victim.seq, eventId: victim.id });
    await log.sql(`UPDATE audit_events SET total_tokens = ${victim.totalTokens ?? 'NULL'} WHERE seq = ${victim.seq}`);
  });

  it(
    'subtracts what retention deletes, leaving no empty rows behind',
    async () => {
      const deleted = await log.maintenance.purgeExpired();
      expect(deleted).toBeGreaterThan(100);
      await log.sequencer.sealNow();
      const [{ first: kept }] = [(await log.read.bounds())!];
      const [oldest] = await log.read.scan({}, { limit: 1 });
      expect(oldest.seq).toBe(kept);
      await expectSameAsLog(log, oldest.recordedAt.getTime(), Date.now());
      const [{ n }] = await log.db.sql.query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM audit_stats_daily WHERE calls <= 0) + (SELECT count(*) FROM audit_stats_hourly WHERE calls <= 0))::int AS n`,
      );
      expect(n).toBe(0);
    },
    SLOW_MS,
  );
});

describe.each(DATABASE_KINDS)('audit statistics rollup migration (%s)', (kind) => {
  let testDb: TestDatabase;
  let before: string;

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    // The migrations before the rollup, in a folder of their own.
    before = await mkdtemp(path.join(os.tmpdir(), 'gw-migrations-'));
    for (const name of (await readdir(MIGRATIONS_DIR)).filter((n) => n < '20261203000000')) {
      await cp(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    }
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await testDb?.drop();
    await rm(before, { recursive: true, force: true });
  });

  it(
    'backfills the rollup from the events sealed before it',
    async () => {
      const old = await openDatabase({ ...testDb, migrationsDir: before });
      const bodies = Array.from({ length: 60 }, (_, i) => toEventBody({ id: randomUUID(), ...draft(i) } as EventDraft));
      let head = { seq: 0, hash: '0'.repeat(64), recordedAt: null as Date | null };
      for (let i = 0; i < bodies.length; i += 20) {
        const events = linkEvents(head, bodies.slice(i, i + 20), new Date(Date.now() - 2 * DAY + i * 1_500_000), new AuditSigner([]));
        // The insert of the seal before the rollup existed.
        await old.client.$executeRawUnsafe(`INSERT INTO audit_events SELECT * FROM json_populate_recordset(NULL::audit_events, $1::json)`, sealedJson(events));
        const last = events[events.length - 1];
        head = { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt };
      }
      await old.close();
      const log = await openTestAuditLog(kind, {}, testDb);
      try {
        // The rollup's migration is the first one applied over the old events (later ones may follow).
        expect(log.db.applied[0]).toBe('20261203000000_audit_stats_rollup');
        await expectSameAsLog(log, Date.now() - 2 * DAY, Date.now(), true);
        expect((await log.read.stats({}, []))[0].calls).toBe(bodies.filter((b) => b.type === 'call.finished').length);
      } finally {
        await log.dispose();
      }
    },
    SLOW_MS,
  );
});
