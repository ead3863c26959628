import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { ApiKeyRepository } from '../../src/auth/api-key.repository.js';
import { ApiKeyService } from '../../src/auth/api-key.service.js';
import { openDatabase } from '../../src/database/open-database.js';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { signingKeyFile, waitFor } from '../support/audit-gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ensureBuilt, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { selfSignedCert, startHttpReceiver, startSyslogReceiver, type Receiver } from '../support/siem-receivers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const APP_KEY = 'app-SINKSsinks0123456789abc';
const HMAC = 'sink-hmac-key-CANARY-0123456789abcdef';

type SinkDetails = Record<string, { delivered_seq: number; lag_events: number; consecutive_failures: number }>;

/** The sinks' details on /ready (always up, whatever the receivers do). */
async function sinkDetails(gw: GatewayProcess): Promise<SinkDetails> {
  const res = await fetch(`${gw.origin}/ready`);
  const body = (await res.json()) as { details: { audit_sinks: { status: string } & SinkDetails } };
  expect(body.details.audit_sinks.status).toBe('up');
  const { status: _status, ...sinks } = body.details.audit_sinks;
  return sinks as SinkDetails;
}

/** Chat calls from a few workers until stopped (errors expected once the gateway is killed). */
function load(origin: () => string, key: string) {
  let stopped = false;
  const worker = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      await fetch(`${origin()}/v1/chat-messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: {}, query: 'hi', user: `u-${w}`, response_mode: 'blocking' }),
      }).then(
        (r) => r.arrayBuffer(),
        () => new Promise((r) => setTimeout(r, 20)),
      );
    }
  };
  const all = Promise.all([0, 1, 2, 3].map(worker));
  return async () => {
    stopped = true;
    await all;
  };
}

describe('audit sinks across a gateway killed mid-batch (postgres)', () => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let team: string;
  let webhook: Receiver & { inFlight: number };
  let syslog: Receiver;
  let env: Record<string, string>;

  beforeAll(async () => {
    await ensureBuilt();
    sim = await startDifySimulator({ apps: [{ key: APP_KEY, mode: 'chat' }], answer: 'hello' });
    db = await createTestDatabase('postgres');
    const opened = await openDatabase(db);
    try {
      team = (await new ApiKeyService(new ApiKeyRepository(opened)).create({ name: 'load', app: 'default', scopes: ['chat'] }, ['default'])).key;
    } finally {
      await opened.close();
    }
    const tls = selfSignedCert();
    // The webhook answers each batch 150 ms after keeping it: a gateway killed then dies mid-batch.
    webhook = await startHttpReceiver(HMAC, { delayMs: 150 });
    syslog = await startSyslogReceiver(HMAC, tls);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-sinks-'));
    writeFileSync(path.join(dir, 'ca.pem'), tls.cert);
    writeFileSync(path.join(dir, 'hmac'), `${HMAC}\n`);
    const common = { batch_size: 50, interval_ms: 100, backoff_initial_ms: 50, backoff_max_ms: 500, timeout_ms: 3000 };
    env = {
      DIFY_BASE_URL: sim.url,
      DIFY_API_KEY: APP_KEY,
      DIFY_ALLOW_INSECURE_HTTP: 'true',
      DIFY_READY_CACHE_MS: '0',
      MIGRATIONS_DIR: db.migrationsDir,
      DATABASE_URL: db.url!,
      AUDIT_SIGNING_KEY_FILE: signingKeyFile(),
      AUDIT_SINKS: JSON.stringify([
        { name: 'soc', type: 'webhook', url: `http://127.0.0.1:${webhook.port}/in`, ...common },
        { name: 'rsyslog', type: 'syslog', host: '127.0.0.1', port: syslog.port, ca_file: path.join(dir, 'ca.pem'), ...common },
      ]),
      AUDIT_SINK_SOC_HMAC_KEY_FILE: path.join(dir, 'hmac'),
      AUDIT_SINK_RSYSLOG_HMAC_KEY: HMAC,
    };
  }, 240_000);

  afterAll(async () => {
    await Promise.all([webhook?.close(), syslog?.close(), sim?.close()]);
    await db?.drop();
  });

  it('every sealed event reaches each receiver exactly once after de-duplication, and verify-stream checks the files', async () => {
    let gw = await startGatewayProcess(env);
    const stopLoad = load(() => gw.origin, team);
    // Killed while a batch is in the receiver's hands and not acknowledged.
    await waitFor(() => webhook.seqs.length >= 300 && webhook.inFlight > 0, 60_000, 'a batch in flight');
    gw.child.kill('SIGKILL');
    await new Promise((resolve) => gw.child.once('exit', resolve));
    const killedAt = webhook.seqs.length;

    // The syslog receiver is down while the next gateway starts, and comes back.
    await syslog.down();
    const restartedAt = Date.now();
    gw = await startGatewayProcess(env);
    await new Promise((r) => setTimeout(r, 1500));
    await stopLoad();
    expect(Object.keys(await sinkDetails(gw))).toEqual(['soc', 'rsyslog']);
    await syslog.up();
    const receiverBackAt = Date.now();

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const head = async () => Number((await client.query('SELECT max(seq) AS head FROM audit_events')).rows[0].head);
    try {
      // Caught up: both cursors at the head (nothing new is written while the gateway idles).
      await waitFor(
        async () => {
          const [sinks, last] = [await sinkDetails(gw), await head()];
          return Object.values(sinks).every((s) => s.delivered_seq === last && s.lag_events === 0);
        },
        60_000,
        'sinks caught up',
      );
      const caughtUpMs = Date.now() - restartedAt;
      const afterReceiverBackMs = Date.now() - receiverBackAt;
      const last = await head();
      const cursors = (await client.query('SELECT sink, last_seq FROM audit_sink_cursors ORDER BY sink')).rows.map((r) => [r.sink, Number(r.last_seq)]);
      expect(cursors).toEqual([
        ['rsyslog', last],
        ['soc', last],
      ]);

      const figures: Record<string, unknown> = { events: last, restarts: 1, webhook_events_at_kill: killedAt };
      Object.assign(figures, { caught_up_ms_after_restart: caughtUpMs, caught_up_ms_after_syslog_back: afterReceiverBackMs });
      for (const [name, r] of [
        ['webhook', webhook],
        ['syslog', syslog],
      ] as const) {
        const distinct = new Set(r.seqs);
        expect({ name, distinct: distinct.size, max: Math.max(...r.seqs) }).toEqual({ name, distinct: last, max: last });
        expect(r.badSignatures).toBe(0);
        figures[`${name}_duplicates`] = r.seqs.length - distinct.size;
        const keyFile = env.AUDIT_SINK_SOC_HMAC_KEY_FILE;
        const verified = await run(process.execPath, ['dist/cli.js', 'audit', 'verify-stream', r.file, '--hmac-key-file', keyFile], { cwd: ROOT });
        expect(verified.stdout).toMatch(new RegExp(`^OK: ${last} events \\(seq 1 to ${last}\\), \\d+ duplicates, [1-9]\\d* signatures checked`));
      }
      // The batch cut by the kill was sent again: at least once, not at most once.
      expect(figures.webhook_duplicates).toBeGreaterThan(0);
      console.log(`audit sinks recovery: ${JSON.stringify(figures)}`);
      expect(gw.output()).not.toContain(HMAC);
    } finally {
      await client.end();
      await gw.stop();
    }
  }, 240_000);
});
