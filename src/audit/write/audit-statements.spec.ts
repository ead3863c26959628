import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, type TestDatabase } from '../../../test/support/database.js';
import { READ_PENDING_SQL } from './audit-statements.js';

/**
 * The sequencer's read runs several times a second for as long as the gateway lives: its plan must
 * stay bounded by the batch, not by the log. Reproduced here on real PostgreSQL in the state a
 * long run leaves without fresh statistics (this machine's server runs without autovacuum): a
 * log of 60,000 events and an inbox whose pages still hold 40,000 deleted rows.
 */
describe('READ_PENDING_SQL on PostgreSQL', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('postgres', { migrated: true });
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`
      INSERT INTO audit_events (seq, id, type, recorded_at, prev_hash, hash)
      SELECT n, gen_random_uuid(), 'call.finished', now(), md5(n::text), md5(n::text) FROM generate_series(1, 60000) AS n`);
    await client.query(`INSERT INTO audit_pending (id, type) SELECT gen_random_uuid(), 'call.started' FROM generate_series(1, 40000)`);
    await client.query(`DELETE FROM audit_pending`);
    await client.query(`INSERT INTO audit_pending (id, type) SELECT gen_random_uuid(), 'call.started' FROM generate_series(1, 50)`);
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('probes the log by id for each inbox row it reads, never scans the whole log', async () => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${READ_PENDING_SQL}`, [5000, []]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index (Only )?Scan using audit_events_id_key on audit_events/);
    expect(plan).not.toMatch(/Seq Scan on audit_events/);
  });

  it('reads the oldest rows first, each with whether it is sealed already', async () => {
    const [first] = (await client.query<{ id: string }>('SELECT id FROM audit_pending ORDER BY pending_no LIMIT 1')).rows;
    await client.query(`INSERT INTO audit_events (seq, id, type, recorded_at, prev_hash, hash) VALUES (60001, $1, 'call.started', now(), 'x', 'x')`, [
      first.id,
    ]);
    const { rows } = await client.query<{ id: string; pending_no: string; already_sealed: boolean }>(READ_PENDING_SQL, [10, []]);
    expect(rows).toHaveLength(10);
    expect(rows.map((r) => Number(r.pending_no))).toEqual([...rows.map((r) => Number(r.pending_no))].sort((a, b) => a - b));
    expect(rows.map((r) => r.already_sealed)).toEqual([true, ...Array(9).fill(false)]);
  });
});
