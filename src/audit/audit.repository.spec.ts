import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, DATABASE_KINDS, type TestDatabase } from '../../test/support/database.js';
import { DuplicateKeyError } from '../database/database.errors.js';
import { openDatabase, type OpenDatabase } from '../database/open-database.js';
import { AuditRepository, type AuditQuery, type AuditRecordInput, type AuditRecordRow } from './audit.repository.js';

const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const KEY_A = randomUUID();
const KEY_B = randomUUID();
const APPS = ['alpha', 'beta', null] as const;
const KEYS = [KEY_A, KEY_B, null] as const;
const OUTCOMES = [
  { outcome: 'success', status: 200, upstreamStatus: 200, errorCode: null },
  { outcome: 'upstream_error', status: 502, upstreamStatus: 503, errorCode: 'DIFY_UNAVAILABLE' },
  { outcome: 'client_error', status: 400, upstreamStatus: 400, errorCode: 'invalid_param' },
  { outcome: 'rejected', status: 403, upstreamStatus: null, errorCode: 'FORBIDDEN' },
] as const;

/** 48 records, four per timestamp (so page boundaries fall inside runs of equal startedAt). */
function seedRecords(): AuditRecordInput[] {
  return Array.from({ length: 48 }, (_, i) => {
    const key = KEYS[i % 3];
    const o = OUTCOMES[i % 4];
    return {
      id: randomUUID(),
      requestId: `req-${i}`,
      startedAt: new Date(T0 + Math.floor(i / 4) * 1000),
      callerKeyId: key,
      callerName: key ? `team-${key.slice(0, 4)}` : null,
      appAlias: APPS[i % 5 === 0 ? 2 : i % 2],
      method: i % 2 ? 'POST' : 'GET',
      route: i % 2 ? '/v1/chat-messages' : '/v1/parameters',
      status: o.status,
      upstreamStatus: o.upstreamStatus,
      outcome: o.outcome,
      errorCode: o.errorCode,
      latencyMs: 10 + i,
      attempts: 1 + (i % 3),
      conversationId: i % 2 ? randomUUID() : null,
      messageId: i % 2 ? randomUUID() : null,
      taskId: i % 2 ? randomUUID() : null,
      workflowRunId: i % 7 === 0 ? randomUUID() : null,
    };
  });
}

/** The order `search` promises: startedAt desc, then id desc (lower-case hex compares like uuid). */
function newestFirst(rows: AuditRecordInput[]): AuditRecordInput[] {
  return [...rows].sort(
    (a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
}

describe.each(DATABASE_KINDS)('AuditRepository (%s)', (kind) => {
  let testDb: TestDatabase;
  let db: OpenDatabase;
  let repo: AuditRepository;
  const seeded = seedRecords();

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    db = await openDatabase(testDb);
    repo = new AuditRepository(db);
    for (const record of seeded) await repo.record(record);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  /** What `search(q)` must return, computed in memory over the seeded records. */
  function expected(q: Omit<AuditQuery, 'limit'>): AuditRecordInput[] {
    return newestFirst(
      seeded.filter(
        (r) =>
          (!q.from || r.startedAt >= q.from) &&
          (!q.to || r.startedAt < q.to) &&
          (q.callerKeyId === undefined || r.callerKeyId === q.callerKeyId) &&
          (q.appAlias === undefined || r.appAlias === q.appAlias) &&
          (q.outcome === undefined || r.outcome === q.outcome) &&
          (q.status === undefined || r.status === q.status),
      ),
    );
  }

  /** Pages through like AuditService: asks for limit + 1, continues after the last row shown. */
  async function allPages(q: Omit<AuditQuery, 'limit' | 'cursor'>, pageSize: number): Promise<AuditRecordRow[][]> {
    const pages: AuditRecordRow[][] = [];
    let cursor: AuditQuery['cursor'];
    for (;;) {
      const rows = await repo.search({ ...q, limit: pageSize + 1, cursor });
      const page = rows.slice(0, pageSize);
      pages.push(page);
      if (rows.length <= pageSize) return pages;
      const last = page[page.length - 1];
      cursor = { startedAt: last.startedAt, id: last.id };
      if (pages.length > 100) throw new Error('pagination does not terminate');
    }
  }

  it('stores a record and reads it back by id as a plain object, every field intact', async () => {
    const record = seeded[13];
    const row = await repo.findById(record.id);
    expect(row).toEqual(record);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row!).sort()).toEqual(Object.keys(record).sort());
  });

  it('round-trips a record whose optional fields are all null', async () => {
    const record: AuditRecordInput = {
      ...seeded[0],
      id: randomUUID(),
      startedAt: new Date('2020-01-01T00:00:00.123Z'),
      callerKeyId: null,
      callerName: null,
      appAlias: null,
      upstreamStatus: null,
      errorCode: null,
      conversationId: null,
      messageId: null,
      taskId: null,
      workflowRunId: null,
    };
    await repo.record({ ...record, extra: 'never stored' } as AuditRecordInput);
    expect(await repo.findById(record.id)).toEqual(record);
    // Keep `seeded` the source of truth for the search expectations below.
    seeded.push(record);
  });

  it('findById: an unknown or malformed id is null', async () => {
    expect(await repo.findById(randomUUID())).toBeNull();
    expect(await repo.findById('nope')).toBeNull();
  });

  it('rejects a reused id as DuplicateKeyError (the log is append-only)', async () => {
    const error = await repo.record({ ...seeded[1], requestId: 'overwrite-attempt' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect(error).toMatchObject({ constraint: kind === 'postgres' ? 'audit_records_pkey' : 'id' });
    expect((await repo.findById(seeded[1].id))?.requestId).toBe('req-1');
  });

  it('offers no way to change or remove records', () => {
    const methods = Object.getOwnPropertyNames(AuditRepository.prototype).filter((m) => m !== 'constructor');
    expect(methods.sort()).toEqual(['findById', 'record', 'search']);
  });

  it('returns everything newest first by (startedAt, id), ties on startedAt included', async () => {
    const rows = await repo.search({ limit: 1000 });
    expect(rows).toEqual(expected({}));
    expect(rows.length).toBe(seeded.length);
  });

  it('returns at most limit rows', async () => {
    expect(await repo.search({ limit: 5 })).toEqual(expected({}).slice(0, 5));
  });

  const t = (seconds: number) => new Date(T0 + seconds * 1000);
  const filters: [string, Omit<AuditQuery, 'limit'>][] = [
    ['from (inclusive)', { from: t(3) }],
    ['to (exclusive)', { to: t(3) }],
    ['from and to', { from: t(2), to: t(5) }],
    ['callerKeyId', { callerKeyId: KEY_A }],
    ['appAlias', { appAlias: 'beta' }],
    ['outcome', { outcome: 'upstream_error' }],
    ['status', { status: 403 }],
    ['every filter at once', { from: t(2), to: t(10), callerKeyId: KEY_B, appAlias: 'beta', outcome: 'rejected', status: 403 }],
  ];

  it.each(filters)('filters by %s', async (_, q) => {
    const want = expected(q);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(seeded.length);
    expect(await repo.search({ ...q, limit: 1000 })).toEqual(want);
  });

  it('matches nothing for an unknown or malformed caller key id, and for unused values', async () => {
    expect(await repo.search({ callerKeyId: randomUUID(), limit: 10 })).toEqual([]);
    expect(await repo.search({ callerKeyId: 'not-a-uuid', limit: 10 })).toEqual([]);
    expect(await repo.search({ appAlias: 'gamma', limit: 10 })).toEqual([]);
    expect(await repo.search({ from: t(100), limit: 10 })).toEqual([]);
  });

  it.each([1, 3, 4, 5, 7, 1000])('pages of %i: no duplicates, no gaps, same order', async (size) => {
    const pages = await allPages({}, size);
    const ids = pages.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expected({}).map((r) => r.id));
    for (const page of pages.slice(0, -1)) expect(page).toHaveLength(size);
  });

  it('pages with filters and a time window', async () => {
    const q = { from: t(2), to: t(9), appAlias: 'alpha' };
    for (const size of [1, 2, 3]) {
      expect((await allPages(q, size)).flat()).toEqual(expected(q));
    }
  });

  it('continues strictly after a cursor that sits inside a run of equal timestamps', async () => {
    const all = expected({});
    const cursorRow = all[5]; // second row of a run of four rows sharing one startedAt
    expect(all[4].startedAt).toEqual(cursorRow.startedAt);
    expect(all[6].startedAt).toEqual(cursorRow.startedAt);
    const rows = await repo.search({ limit: 3, cursor: { startedAt: cursorRow.startedAt, id: cursorRow.id } });
    expect(rows).toEqual(all.slice(6, 9));
  });

  it('rejects an invalid limit or a cursor id that is not a UUID', async () => {
    await expect(repo.search({ limit: 0 })).rejects.toThrow(RangeError);
    await expect(repo.search({ limit: 1.5 })).rejects.toThrow(RangeError);
    await expect(repo.search({ limit: 10, cursor: { startedAt: t(1), id: '-'.repeat(36) } })).rejects.toThrow(RangeError);
  });
});
