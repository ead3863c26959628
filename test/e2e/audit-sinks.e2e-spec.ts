import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SinksService } from '../../src/audit/sinks/sinks.service.js';
import { verifyStream } from '../../src/audit/sinks/verify-stream.js';
import { collectSinks, type SinksConfig } from '../../src/config/audit-sinks.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { waitFor } from '../support/audit-gateway.js';
import { openTestAuditLog, type TestAuditLog } from '../support/audit-log.js';
import { DATABASE_KINDS, DATABASE_SETUP_TIMEOUT_MS } from '../support/database.js';
import { selfSignedCert, startHttpReceiver, startSyslogReceiver, type Receiver } from '../support/siem-receivers.js';

const HMAC = { webhook: 'webhook-hmac-key-0123456789abcdef', splunk: 'splunk-hmac-key-0123456789abcdef', syslog: 'syslog-hmac-key-0123456789abcdef' };
const SPLUNK_TOKEN = 'splunk-token-CANARY-0123456789';

/** Every seq from 1 to `head`, once: what a receiver must hold after de-duplication. */
const oneTo = (head: number) => Array.from({ length: head }, (_, i) => i + 1);
const distinct = (seqs: number[]) => [...new Set(seqs)].sort((a, b) => a - b);

describe.each(DATABASE_KINDS)('audit sinks deliver every sealed event (%s)', (kind) => {
  let log: TestAuditLog;
  let receivers: Record<'webhook' | 'splunk' | 'syslog', Receiver>;
  let cfg: SinksConfig;
  const replicas: SinksService[] = [];
  const registries: MetricsService[] = [];
  const tls = selfSignedCert();

  beforeAll(async () => {
    log = await openTestAuditLog(kind);
    receivers = {
      webhook: await startHttpReceiver(HMAC.webhook),
      splunk: await startHttpReceiver(HMAC.splunk, { token: SPLUNK_TOKEN }),
      syslog: await startSyslogReceiver(HMAC.syslog, tls),
    };
    const caFile = `${receivers.syslog.file}.ca.pem`;
    await import('node:fs').then((fs) => fs.writeFileSync(caFile, tls.cert));
    const common = { batch_size: 100, interval_ms: 50, timeout_ms: 2000, backoff_initial_ms: 20, backoff_max_ms: 300 };
    const parsed = collectSinks({
      AUDIT_SINKS: JSON.stringify([
        { name: 'webhook', type: 'webhook', url: `http://127.0.0.1:${receivers.webhook.port}/audit`, ...common },
        { name: 'splunk', type: 'splunk', url: `http://127.0.0.1:${receivers.splunk.port}/services/collector/event`, ...common },
        { name: 'syslog', type: 'syslog', host: '127.0.0.1', port: receivers.syslog.port, ca_file: caFile, ...common },
      ]),
      AUDIT_SINK_WEBHOOK_HMAC_KEY: HMAC.webhook,
      AUDIT_SINK_SPLUNK_HMAC_KEY: HMAC.splunk,
      AUDIT_SINK_SPLUNK_TOKEN: SPLUNK_TOKEN,
      AUDIT_SINK_SYSLOG_HMAC_KEY: HMAC.syslog,
    });
    expect(parsed.issues).toEqual([]);
    cfg = parsed.config;
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.onModuleDestroy()));
    await Promise.all(Object.values(receivers ?? {}).map((r) => r.close()));
    await log?.dispose();
  });

  const startReplica = () => {
    const metrics = new MetricsService();
    const replica = new SinksService(cfg, log.db as never, metrics);
    replicas.push(replica);
    registries.push(metrics);
    replica.onApplicationBootstrap();
    return replica;
  };
  const append = (n: number, from: number) => log.append(Array.from({ length: n }, (_, i) => ({ type: 'admin.action' as const, details: { n: from + i } })));
  const allCaughtUp = (replica: SinksService, head: number) => replica.statuses().every((s) => s.deliveredSeq === head && s.lagEvents === 0);

  it('through receiver outages and a replica handover, each receiver ends with every event, signed and chained', async () => {
    await append(450, 0);
    const a = startReplica();
    const b = kind === 'postgres' ? startReplica() : undefined;
    await waitFor(() => Object.values(receivers).every((r) => r.seqs.length >= 150), 20_000, 'first batches');

    // Every receiver goes down mid-stream while events keep being sealed.
    await Promise.all(Object.values(receivers).map((r) => r.down()));
    await append(300, 450);
    await waitFor(() => a.statuses().every((s) => (s.delivering ? s.consecutiveFailures >= 2 && s.lagEvents > 0 : true)), 20_000, 'failures seen');
    const failing = a.statuses().filter((s) => s.delivering);
    if (kind === 'postgres') expect(failing.length + (b?.statuses().filter((s) => s.delivering).length ?? 0)).toBe(3);
    // Lag and failures are metrics, on every replica (the one delivering counts the failures).
    const text = (await Promise.all(registries.map((m) => m.registry.metrics()))).join('\n');
    expect(text).toMatch(/^dify_gateway_audit_sink_lag_events\{sink="syslog"\} [1-9]\d*$/m);
    expect(text).toMatch(/^dify_gateway_audit_sink_failures_total\{sink="webhook",reason="network"\} [1-9]\d*$/m);
    expect(text).not.toContain(SPLUNK_TOKEN);
    await Promise.all(Object.values(receivers).map((r) => r.up()));

    // The replica that delivers goes away; on Postgres the other one takes the lease over and carries on.
    await append(250, 750);
    if (b) {
      await a.onModuleDestroy();
      await waitFor(() => allCaughtUp(b, 1000), 30_000, 'replica b caught up');
    } else {
      await waitFor(() => allCaughtUp(a, 1000), 30_000, 'caught up');
    }

    for (const [name, r] of Object.entries(receivers)) {
      expect({ name, seqs: distinct(r.seqs) }).toEqual({ name, seqs: oneTo(1000) });
      expect(r.badSignatures).toBe(0);
      const report = await verifyStream(r.file, HMAC[name as keyof typeof HMAC]);
      expect({ name, ok: report.ok, problems: report.problems, events: report.events }).toEqual({ name, ok: true, problems: [], events: 1000 });
      expect(report.signatures_checked).toBeGreaterThan(0);
      // The wrong key fails every signature.
      expect((await verifyStream(r.file, 'not-the-key-0123456789abcdef')).ok).toBe(false);
    }
    expect((receivers.splunk as unknown as { authorizations: string[] }).authorizations.every((h) => h === `Splunk ${SPLUNK_TOKEN}`)).toBe(true);
  }, 120_000);
});
