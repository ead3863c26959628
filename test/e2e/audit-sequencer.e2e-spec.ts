import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { SEAL_LOCK_KEY } from '../../src/audit/write/audit.repository.js';
import { signingKeyFile, waitFor } from '../support/audit-gateway.js';
import { openTestAuditLog, type TestAuditLog } from '../support/audit-log.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ensureBuilt, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

const DIFY_KEY = 'app-SEQUENCERsequencer012345';
const BACKLOG = 60_000;

/**
 * Two real gateway processes on one Postgres: one sequencer at a time seals, and when the
 * process holding the seal lease is killed in the middle of sealing, the other takes over and
 * seals everything, once, into one valid chain.
 */
describe('the audit sequencer across two replicas (postgres)', () => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let sql: pg.Client;
  let log: TestAuditLog;
  let eager: GatewayProcess;
  let patient: GatewayProcess;

  beforeAll(async () => {
    [sim, db] = await Promise.all([startDifySimulator({ apps: [{ key: DIFY_KEY, mode: 'chat' }] }), createTestDatabase('postgres'), ensureBuilt()]);
    const env = {
      DIFY_BASE_URL: sim.url,
      DIFY_API_KEY: DIFY_KEY,
      DIFY_ALLOW_INSECURE_HTTP: 'true',
      DATABASE_URL: db.url!,
      AUDIT_SIGNING_KEY_FILE: signingKeyFile(),
    };
    // The eager replica seals back to back; the patient one tries once a second, so the eager one holds the lease.
    eager = await startGatewayProcess({ ...env, AUDIT_SEAL_INTERVAL_MS: '10', AUDIT_SEAL_BATCH_MAX: '2000' });
    patient = await startGatewayProcess({ ...env, AUDIT_SEAL_INTERVAL_MS: '1000', AUDIT_SEAL_BATCH_MAX: '2000' });
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    log = await openTestAuditLog('postgres', {}, db);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([eager?.stop(), patient?.stop()]);
    await sql?.end();
    await log?.dispose();
    await sim?.close();
    await db?.drop();
  }, 60_000);

  const pending = async () => Number((await sql.query('SELECT count(*) AS n FROM audit_pending')).rows[0].n);
  // In this database: other test files' gateways hold the same lease in theirs, on the same server.
  const leaseHeld = async () =>
    (
      await sql.query(
        `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [SEAL_LOCK_KEY],
      )
    ).rows[0].n > 0;

  it('seals what both replicas record (their gateway.started events) into one valid chain', async () => {
    await waitFor(
      async () => (await pending()) === 0 && (await sql.query("SELECT count(*) AS n FROM audit_events WHERE type = 'gateway.started'")).rows[0].n === '2',
      10_000,
      'both starts sealed',
    );
    expect(await log.verifier.verify()).toMatchObject({ ok: true, problem: null, unsealed: { count: 0 } });
  });

  it('when the lease holder is killed while sealing, the other replica takes over: every event sealed once, the chain valid', async () => {
    // A backlog, as after an outage: recorded events waiting in the inbox.
    await sql.query(
      `INSERT INTO audit_pending (id, type, request_id, details) SELECT gen_random_uuid(), 'config.reloaded', 'backlog', jsonb_build_object('n', n) FROM generate_series(1, ${BACKLOG}) AS n`,
    );
    await waitFor(async () => (await leaseHeld()) && (await pending()) < BACKLOG, 20_000, 'sealing under way');
    eager.child.kill('SIGKILL');
    await new Promise((resolve) => eager.child.once('exit', resolve));
    const left = await pending();
    expect(left).toBeGreaterThan(0); // killed mid-way: the rest is the patient replica's

    await waitFor(async () => (await pending()) === 0, 60_000, 'the other replica to seal the rest');
    const { rows } = await sql.query(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, min(received_at) <= min(recorded_at) AS ordered FROM audit_events WHERE request_id = 'backlog'`,
    );
    expect(rows[0]).toEqual({ n: String(BACKLOG), ids: String(BACKLOG), ordered: true });
    const report = await log.verifier.verify();
    expect(report).toMatchObject({ ok: true, problem: null, unsealed: { count: 0 } });
    expect(report.checked).toBeGreaterThanOrEqual(BACKLOG + 2);
    // The patient replica still records and seals on its own.
    const res = await fetch(`${patient.origin}/live`);
    expect(res.status).toBe(200);
  }, 120_000);
});
