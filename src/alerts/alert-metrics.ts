import { Counter } from 'prom-client';
import { labelValue, type MetricsService } from '../metrics/metrics.service.js';

/** `dify_gateway_alerts_total{kind, result}`: raised here (claimed), and whether the webhook took it. */
export class AlertMetrics {
  private readonly alerts: Counter<'kind' | 'result'>;

  constructor(metrics: Pick<MetricsService, 'registry'>) {
    this.alerts = new Counter({
      name: 'dify_gateway_alerts_total',
      help: 'Alerts raised by this replica (each occurrence once across replicas), by kind and result: sent, failed, not_configured.',
      labelNames: ['kind', 'result'],
      registers: [metrics.registry],
    });
  }

  raised(kind: string, result: 'sent' | 'failed' | 'not_configured'): void {
    this.alerts.inc({ kind: labelValue(kind), result });
  }
}
