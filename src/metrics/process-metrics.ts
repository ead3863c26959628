import { collectDefaultMetrics, type Registry } from 'prom-client';

export const METRIC_PREFIX = 'dify_gateway_';

/** prom-client's defaults that are gauges named `_total` (against the naming rules). */
const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * prom-client's process and Node.js metrics under our prefix, without the three gauges it names
 * `…_total` (a `_total` is a counter): their values are the sums of the `nodejs_active_handles`,
 * `nodejs_active_requests` and `nodejs_active_resources` gauges, which stay (by `type`).
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const name of GAUGES_NAMED_TOTAL) registry.removeSingleMetric(METRIC_PREFIX + name);
}
