import { Counter, Gauge, Histogram } from 'prom-client';
import { labelValue, type MetricsService } from '../../metrics/metrics.service.js';
import type { SinkObserver } from './sink-delivery.js';

/** The sinks' metrics, in the gateway's registry (names with the `dify_gateway_` prefix). */
export class SinkMetrics implements SinkObserver {
  private readonly deliveredTotal: Counter<'sink'>;
  private readonly failures: Counter<'sink' | 'reason'>;
  private readonly lagEvents: Gauge<'sink'>;
  private readonly lagSeconds: Gauge<'sink'>;
  private readonly batchSeconds: Histogram<'sink'>;

  constructor(metrics: Pick<MetricsService, 'registry'>) {
    const registers = [metrics.registry];
    this.deliveredTotal = new Counter({
      name: 'dify_gateway_audit_sink_delivered_events_total',
      help: 'Sealed audit events delivered to a sink for the first time (replays not counted).',
      labelNames: ['sink'],
      registers,
    });
    this.failures = new Counter({
      name: 'dify_gateway_audit_sink_failures_total',
      help: 'Failed deliveries to a sink, by reason (network, timeout, status, tls, internal).',
      labelNames: ['sink', 'reason'],
      registers,
    });
    this.lagEvents = new Gauge({
      name: 'dify_gateway_audit_sink_lag_events',
      help: 'Sealed audit events not delivered to a sink yet.',
      labelNames: ['sink'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'dify_gateway_audit_sink_lag_seconds',
      help: 'Age of the oldest sealed audit event not delivered to a sink yet (0: none waiting).',
      labelNames: ['sink'],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'dify_gateway_audit_sink_batch_duration_seconds',
      help: 'Time to hand one batch to a sink (until acknowledged).',
      labelNames: ['sink'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  delivered(sink: string, events: number, seconds: number): void {
    this.deliveredTotal.inc({ sink: labelValue(sink) }, events);
    this.batchSeconds.observe({ sink: labelValue(sink) }, seconds);
  }

  failed(sink: string, reason: string): void {
    this.failures.inc({ sink: labelValue(sink), reason: labelValue(reason) });
  }

  lag(sink: string, events: number, seconds: number): void {
    this.lagEvents.set({ sink: labelValue(sink) }, events);
    this.lagSeconds.set({ sink: labelValue(sink) }, seconds);
  }
}
