import { Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './process-metrics.js';

export type AuditBacklogQueue = 'memory' | 'inbox';
/** Reads one backlog when Prometheus scrapes (null: unknown now, e.g. the store is down). */
export type BacklogSource = () => number | null | Promise<number | null>;

const SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The audit log's write path: the write-ahead's latency, batch sizes, seal lag and backlogs. */
export class AuditMetrics {
  private readonly sources = new Map<AuditBacklogQueue, BacklogSource>();

  private readonly writeAhead: Histogram;
  private readonly batch: Histogram<'stage'>;
  private readonly sealLag: Histogram;

  constructor(registry: Registry) {
    this.writeAhead = new Histogram({
      name: `${METRIC_PREFIX}audit_write_ahead_duration_seconds`,
      help: 'Time a call waits for its call.started event to be committed (the write-ahead: no record, no call).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.batch = new Histogram({
      name: `${METRIC_PREFIX}audit_batch_size`,
      help: 'Events per audit batch: stage "write" is one group-committed insert into the inbox, "seal" one sealing round.',
      labelNames: ['stage'] as const,
      buckets: SIZE_BUCKETS,
      registers: [registry],
    });
    this.sealLag = new Histogram({
      name: `${METRIC_PREFIX}audit_seal_lag_seconds`,
      help: 'Time from an event being recorded (write-ahead) to its being sealed into the hash chain, per sealed event.',
      buckets: LAG_BUCKETS,
      registers: [registry],
    });
    const sources = this.sources;
    new Gauge({
      name: `${METRIC_PREFIX}audit_backlog_events`,
      help: 'Audit events waiting: queue "memory" are outcomes kept in memory while the store is down, "inbox" recorded events not sealed yet.',
      labelNames: ['queue'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const [queue, read] of sources) {
          const value = await Promise.resolve(read()).catch(() => null);
          if (value !== null) this.set({ queue }, value);
        }
      },
    });
  }

  writeAheadDone(seconds: number): void {
    this.writeAhead.observe(seconds);
  }

  batchDone(stage: 'write' | 'seal', size: number): void {
    if (size > 0) this.batch.observe({ stage }, size);
  }

  sealed(lagsSeconds: Iterable<number>): void {
    for (const lag of lagsSeconds) this.sealLag.observe(Math.max(0, lag));
  }

  backlog(queue: AuditBacklogQueue, read: BacklogSource): void {
    this.sources.set(queue, read);
  }
}
