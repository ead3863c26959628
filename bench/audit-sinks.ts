/**
 * `npm run bench:audit-sinks`: how fast each kind of sink delivers a backlog of BENCH_EVENTS
 * sealed events (PostgreSQL) to a loopback receiver that checks every signature: the generic
 * webhook, Splunk HEC and syslog over TLS, each alone, at BENCH_BATCH events per batch. Prints
 * events/s from the first batch to the cursor at the head. Figures only, no assertions.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createAuditLog } from '../src/audit/audit-log.js';
import { SinksService } from '../src/audit/sinks/sinks.service.js';
import { collectSinks } from '../src/config/audit-sinks.js';
import { openDatabase } from '../src/database/open-database.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { createTestDatabase } from '../test/support/database.js';
import { selfSignedCert, startHttpReceiver, startSyslogReceiver, type Receiver } from '../test/support/siem-receivers.js';
import { BENCH_AUDIT_CONFIG, draft } from './audit-write.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const KEY = 'bench-sink-hmac-key-0123456789abcdef';

async function main(): Promise<void> {
  const testDb = await createTestDatabase('postgres');
  const db = await openDatabase(testDb);
  try {
    const log = createAuditLog(db, BENCH_AUDIT_CONFIG);
    for (let i = 0; i < EVENTS; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j) => log.writer.append({ ...draft(i + j), id: randomUUID() })));
      await log.sequencer.sealNow(60_000);
    }
    await log.close();
    console.log(`${EVENTS} sealed events, batches of ${BATCH}, receivers on loopback checking every signature`);
    const tls = selfSignedCert();
    for (const type of ['webhook', 'splunk', 'syslog'] as const) {
      const receiver: Receiver = type === 'syslog' ? await startSyslogReceiver(KEY, tls) : await startHttpReceiver(KEY);
      const caFile = `${receiver.file}.ca.pem`;
      writeFileSync(caFile, tls.cert);
      const target = type === 'syslog' ? { host: '127.0.0.1', port: receiver.port, ca_file: caFile } : { url: `http://127.0.0.1:${receiver.port}/in` };
      const { config, issues } = collectSinks({
        AUDIT_SINKS: JSON.stringify([{ name: `bench-${type}`, type, batch_size: BATCH, interval_ms: 50, replay_on_reconnect: 0, ...target }]),
        [`AUDIT_SINK_BENCH_${type.toUpperCase()}_HMAC_KEY`]: KEY,
        AUDIT_SINK_BENCH_SPLUNK_TOKEN: 'bench-token-0123456789',
      });
      if (issues.length) throw new Error(JSON.stringify(issues));
      const sinks = new SinksService(config, db as never, new MetricsService());
      const started = performance.now();
      sinks.onApplicationBootstrap();
      while (sinks.statuses()[0].deliveredSeq < EVENTS) await new Promise((r) => setTimeout(r, 20));
      const seconds = (performance.now() - started) / 1000;
      await sinks.onModuleDestroy();
      await receiver.close();
      const unique = new Set(receiver.seqs).size;

      const rate = Math.round(EVENTS / seconds)
        .toLocaleString('en-US')
        .padStart(8);
      console.log(`${type.padEnd(8)} ${rate} events/s  (${seconds.toFixed(2)} s, ${unique} distinct received, ${receiver.badSignatures} bad signatures)`);
    }
  } finally {
    await db.close();
    await testDb.drop();
  }
}

await main();
