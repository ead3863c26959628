import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { SinkConfig } from '../../config/audit-sinks.js';
import { sinksConfig } from '../../config/config-namespaces.js';
import { PrismaService } from '../../database/prisma.service.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { AuditReadRepository } from '../read/audit-read.repository.js';
import { HttpSinkTransport } from './http-sink.js';
import { SinkCursorRepository } from './sink-cursor.repository.js';
import { SinkDelivery, type SinkStatus } from './sink-delivery.js';
import { SinkMetrics } from './sink-metrics.js';
import type { SinkTransport } from './sink-transport.js';
import { SyslogSinkTransport } from './syslog-sink.js';

export function transportOf(cfg: SinkConfig): SinkTransport {
  return cfg.type === 'syslog' ? new SyslogSinkTransport(cfg) : new HttpSinkTransport(cfg);
}

/** Runs one delivery loop per configured sink (see `SinkDelivery`) from the start to the end of the process. */
@Injectable()
export class SinksService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SinksService.name);
  private readonly deliveries: SinkDelivery[];

  constructor(@Inject(sinksConfig.KEY) cfg: ConfigType<typeof sinksConfig>, prisma: PrismaService, metrics: MetricsService) {
    const read = new AuditReadRepository(prisma);
    const cursors = new SinkCursorRepository(prisma);
    const observer = new SinkMetrics(metrics);
    this.deliveries = cfg.sinks.map((sink) => new SinkDelivery(sink, transportOf(sink), (filter, page) => read.scan(filter, page), cursors, observer));
  }

  onApplicationBootstrap(): void {
    for (const delivery of this.deliveries) delivery.start();
    if (this.deliveries.length > 0)
      this.logger.log(
        `audit sinks: ${this.statuses()
          .map((s) => `${s.name} (${s.type})`)
          .join(', ')}`,
      );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.deliveries.map((d) => d.close()));
  }

  statuses(): SinkStatus[] {
    return this.deliveries.map((d) => d.status());
  }
}
