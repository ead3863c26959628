import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { AuditSequencer } from './write/audit-sequencer.js';
import { AuditWriter } from './write/audit-writer.js';
import { AuditRepository } from './write/audit.repository.js';

/**
 * Connects the audit write path to /metrics through the writer's and sequencer's hooks, so the
 * write code knows nothing of Prometheus: write-ahead latency, batch sizes, seal lag and the
 * two backlogs (kept in memory while the store is down; recorded but not sealed).
 */
@Injectable()
export class AuditMetricsWiring implements OnModuleInit {
  constructor(
    private readonly writer: AuditWriter,
    private readonly sequencer: AuditSequencer,
    private readonly repository: AuditRepository,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const audit = this.metrics.audit;
    this.writer.onAppended = (seconds) => audit.writeAheadDone(seconds);
    this.writer.onBatch = (size) => audit.batchDone('write', size);
    this.sequencer.onSealed = (lagsSeconds) => {
      audit.batchDone('seal', lagsSeconds.length);
      audit.sealed(lagsSeconds);
    };
    audit.backlog('memory', () => this.writer.backlogSize);
    // Read at scrape time from the inbox's pending numbers (sealing takes the oldest first, so the
    // range is the count but for rolled-back inserts); while the store is down: no sample.
    audit.backlog('inbox', () =>
      this.repository.inboxBounds().then(
        ({ oldest, newest }) => (oldest === null || newest === null ? 0 : newest - oldest + 1),
        () => null,
      ),
    );
  }
}
