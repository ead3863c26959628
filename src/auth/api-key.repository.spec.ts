import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, DATABASE_KINDS, type TestDatabase } from '../../test/support/database.js';
import { openDatabase, type OpenDatabase } from '../database/open-database.js';
import { ApiKeyRepository, defaultNamespace, DuplicateKeyError, type ApiKeyRecord, type NewApiKey } from './api-key.repository.js';

const RECORD_KEYS = [
  'apps',
  'createdAt',
  'datasets',
  'expiresAt',
  'id',
  'lastUsedAt',
  'limits',
  'name',
  'namespace',
  'prefix',
  'previousSecretExpiresAt',
  'revokedAt',
  'rotatedAt',
  'scopes',
  'updatedAt',
];

function newKey(overrides: Partial<NewApiKey> = {}): NewApiKey {
  return {
    id: randomUUID(),
    name: 'team-search',
    prefix: 'dgw_abc123',
    hash: randomBytes(32).toString('hex'),
    scopes: ['chat', 'workflow'],
    apps: ['default'],
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DATABASE_KINDS)('ApiKeyRepository (%s)', (kind) => {
  let testDb: TestDatabase;
  let db: OpenDatabase;
  let repo: ApiKeyRepository;

  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    db = await openDatabase(testDb);
    repo = new ApiKeyRepository(db);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('inserts a key and returns a plain record without the hash', async () => {
    const input = newKey({ scopes: ['chat'], apps: ['default', 'hr-bot'] });
    const before = Date.now();
    const record = await repo.insert(input);
    expect(record).toEqual({
      id: input.id,
      name: input.name,
      prefix: input.prefix,
      scopes: ['chat'],
      apps: ['default', 'hr-bot'],
      datasets: [],
      namespace: defaultNamespace(input.id),
      limits: { requestsPerMinute: null, concurrentStreams: null, dailyTokens: null },
      expiresAt: null,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
      revokedAt: null,
      lastUsedAt: null,
      rotatedAt: null,
      previousSecretExpiresAt: null,
    });
    expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Math.abs(record.createdAt.getTime() - before)).toBeLessThan(60_000);
  });

  it('keeps empty scope and app lists as empty arrays', async () => {
    const input = newKey({ scopes: [], apps: [] });
    await repo.insert(input);
    expect(await repo.findByHash(input.hash)).toMatchObject({ record: { scopes: [], apps: [] } });
  });

  it('finds an active key by hash; an unknown hash is null', async () => {
    const input = newKey();
    const inserted = await repo.insert(input);
    expect(await repo.findByHash(input.hash)).toEqual({ matched: 'current', record: inserted });
    expect(await repo.findByHash(randomBytes(32).toString('hex'))).toBeNull();
  });

  it('finds a key by id; unknown and malformed ids are null', async () => {
    const inserted = await repo.insert(newKey());
    expect(await repo.findById(inserted.id)).toEqual(inserted);
    expect(await repo.findById(randomUUID())).toBeNull();
    expect(await repo.findById('not-a-uuid')).toBeNull();
  });

  it('rejects a second key with the same hash as DuplicateKeyError', async () => {
    const first = newKey();
    await repo.insert(first);
    const error = await repo.insert(newKey({ hash: first.hash })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateKeyError);
    // Postgres names the index, PGlite the columns.
    const constraint = kind === 'postgres' ? 'api_keys_hash_key' : 'hash';
    expect(error).toMatchObject({ entity: 'api key', constraint });
    // No Prisma text (which quotes source code and values) in the message.
    expect((error as Error).message).toBe(`duplicate api key (${constraint})`);
  });

  it('rejects a reused id as DuplicateKeyError', async () => {
    const first = await repo.insert(newKey());
    await expect(repo.insert(newKey({ id: first.id }))).rejects.toMatchObject({
      name: 'DuplicateKeyError',
      constraint: kind === 'postgres' ? 'api_keys_pkey' : 'id',
    });
  });

  it('revokes once: the key stops authenticating, a second revoke returns it unchanged', async () => {
    const input = newKey();
    await repo.insert(input);

    const revoked = await repo.revoke(input.id);
    expect(revoked).toMatchObject({ id: input.id, revokedAt: expect.any(Date) });
    expect(await repo.findByHash(input.hash)).toBeNull();
    await sleep(5);
    const again = await repo.revoke(input.id);
    expect(again).toEqual(revoked);
    expect(await repo.findById(input.id)).toEqual(revoked);
  });

  it('concurrent revokes agree on one revokedAt', async () => {
    const input = newKey();
    await repo.insert(input);
    const results = await Promise.all([repo.revoke(input.id), repo.revoke(input.id), repo.revoke(input.id)]);
    const times = new Set(results.map((r) => r?.revokedAt?.getTime()));
    expect(times.size).toBe(1);
    expect([...times][0]).toEqual(expect.any(Number));
  });

  it('revoking an unknown or malformed id returns null', async () => {
    expect(await repo.revoke(randomUUID())).toBeNull();
    expect(await repo.revoke('not-a-uuid')).toBeNull();
  });

  it('lists every key, revoked included, newest first', async () => {
    const made: ApiKeyRecord[] = [];
    for (let i = 0; i < 3; i++) {
      made.push(await repo.insert(newKey({ name: `list-${i}` })));
      await sleep(3);
    }
    await repo.revoke(made[1].id);

    const list = await repo.list();
    const ours = list.filter((k) => k.name.startsWith('list-'));
    expect(ours.map((k) => k.name)).toEqual(['list-2', 'list-1', 'list-0']);
    expect(ours[1].revokedAt).toEqual(expect.any(Date));
    // The whole list is ordered by (createdAt desc, id desc), ties included.
    const sorted = [...list].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    expect(list).toEqual(sorted);
    for (const record of list) expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
  });

  it('stores namespace, datasets, limits and expiry, and updates only what is given', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const input = newKey({ namespace: 'team-a', datasets: ['*'], limits: { requestsPerMinute: 5, dailyTokens: 0 }, expiresAt });
    const record = await repo.insert(input);
    expect(record).toMatchObject({
      namespace: 'team-a',
      datasets: ['*'],
      limits: { requestsPerMinute: 5, concurrentStreams: null, dailyTokens: 0 },
      expiresAt,
    });
    await sleep(3);
    const updated = await repo.update(input.id, { name: 'renamed', limits: { requestsPerMinute: null, concurrentStreams: 2 }, expiresAt: null });
    expect(updated).toMatchObject({
      name: 'renamed',
      namespace: 'team-a',
      scopes: input.scopes,
      limits: { requestsPerMinute: null, concurrentStreams: 2, dailyTokens: 0 },
      expiresAt: null,
    });
    expect(updated!.updatedAt.getTime()).toBeGreaterThan(record.updatedAt.getTime());
    await repo.revoke(input.id);
    expect(await repo.update(input.id, { name: 'after' })).toBeNull();
    expect(await repo.update(randomUUID(), { name: 'x' })).toBeNull();
  });

  it('rotates: the old secret matches as previous until its grace ends, the one before stops at once', async () => {
    const input = newKey();
    await repo.insert(input);
    const second = randomBytes(32).toString('hex');
    const rotated = await repo.rotate(input.id, { prefix: 'dgw_second', hash: second, previousValidUntil: new Date(Date.now() + 60_000) });
    expect(rotated).toMatchObject({ prefix: 'dgw_second', rotatedAt: expect.any(Date), previousSecretExpiresAt: expect.any(Date) });
    expect(await repo.findByHash(second)).toMatchObject({ matched: 'current', record: { id: input.id } });
    expect(await repo.findByHash(input.hash)).toMatchObject({ matched: 'previous', record: { id: input.id } });
    const third = randomBytes(32).toString('hex');
    await repo.rotate(input.id, { prefix: 'dgw_third1', hash: third, previousValidUntil: new Date(Date.now() + 60_000) });
    expect(await repo.findByHash(input.hash)).toBeNull();
    expect(await repo.findByHash(second)).toMatchObject({ matched: 'previous' });

    const fourth = randomBytes(32).toString('hex');
    const noGrace = await repo.rotate(input.id, { prefix: 'dgw_fourth', hash: fourth, previousValidUntil: null });
    expect(noGrace?.previousSecretExpiresAt).toBeNull();
    expect(await repo.findByHash(third)).toBeNull();

    const fifth = randomBytes(32).toString('hex');
    const graceEnd = new Date(Date.now() + 60_000);
    await repo.rotate(input.id, { prefix: 'dgw_fifth1', hash: fifth, previousValidUntil: graceEnd });
    expect(await repo.findByHash(fourth)).toMatchObject({ matched: 'previous' });
    expect(await repo.findByHash(fourth, new Date(graceEnd.getTime() - 1))).toMatchObject({ matched: 'previous' });
    expect(await repo.findByHash(fourth, graceEnd)).toBeNull(); // the grace ends at its instant
    expect(await repo.findByHash(fourth, new Date(graceEnd.getTime() + 1))).toBeNull();

    await repo.revoke(input.id);
    expect(await repo.findByHash(fifth)).toBeNull();
    expect(await repo.rotate(input.id, { prefix: 'dgw_sixth1', hash: randomBytes(32).toString('hex'), previousValidUntil: null })).toBeNull();
  });

  it('concurrent rotations each demote a different secret', async () => {
    const input = newKey();
    await repo.insert(input);
    const hashes = [0, 1, 2].map(() => randomBytes(32).toString('hex'));
    await Promise.all(hashes.map((hash, i) => repo.rotate(input.id, { prefix: `dgw_conc${i}0`, hash, previousValidUntil: new Date(Date.now() + 60_000) })));
    const matches = await Promise.all([input.hash, ...hashes].map((h) => repo.findByHash(h)));
    expect(matches.filter((m) => m?.matched === 'current')).toHaveLength(1);
    expect(matches.filter((m) => m?.matched === 'previous')).toHaveLength(1);
  });

  it('writes last-use times in a batch, never moving one backwards', async () => {
    const a = await repo.insert(newKey());
    const b = await repo.insert(newKey());
    const t1 = new Date(Date.now() - 10_000);
    const t2 = new Date();
    await repo.touchLastUsed([
      { id: a.id, at: t2 },
      { id: b.id, at: t1 },
      { id: 'not-a-uuid', at: t1 },
    ]);
    await repo.touchLastUsed([{ id: a.id, at: t1 }]);
    expect((await repo.findById(a.id))?.lastUsedAt).toEqual(t2);
    expect((await repo.findById(b.id))?.lastUsedAt).toEqual(t1);
  });
});
