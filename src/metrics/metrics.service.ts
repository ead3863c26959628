import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AuditMetrics } from './audit-metrics.js';
import { KeyLabels, labelValue, statusClass } from './metric-labels.js';
import { collectProcessMetrics, METRIC_PREFIX } from './process-metrics.js';

export { labelValue } from './metric-labels.js';

export type BreakerStateName = 'closed' | 'open' | 'half_open';
const BREAKER_STATES: readonly BreakerStateName[] = ['closed', 'open', 'half_open'];
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 1200];

export interface CallMetric {
  route: string;
  app: string | null;
  /** The authenticated key id (null: no valid key). Only on counters, bounded by KeyLabels. */
  key: string | null;
  status: number;
  seconds: number;
  /** What Dify reported: total tokens, and the price as its decimal string with its currency. */
  tokens?: number | null;
  cost?: string | null;
  currency?: string | null;
  /** A stream's first event written to the caller, in seconds after the call arrived. */
  firstByteSeconds?: number;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (one per application instance, so
 * tests can run several gateways in one process). Names follow the Prometheus conventions
 * (prefix `dify_gateway_`, base units, `_total` on counters only); labels hold no secret and no
 * free text (metric-labels.ts).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly audit = new AuditMetrics(this.registry);
  private readonly keys = new KeyLabels();

  private readonly requests = this.counter('requests_total', 'Calls to /v1 by route, Dify app and answered status.', ['route', 'app', 'status']);
  private readonly duration = new Histogram({
    name: `${METRIC_PREFIX}request_duration_seconds`,
    help: 'Duration of /v1 calls (streams until their end) by route, app and status.',
    labelNames: ['route', 'app', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly firstByte = new Histogram({
    name: `${METRIC_PREFIX}stream_first_byte_seconds`,
    help: 'Time from a streaming /v1 call arriving to its first event written to the caller, by route and app.',
    labelNames: ['route', 'app'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
    registers: [this.registry],
  });
  private readonly keyRequests = this.counter('key_requests_total', 'Calls to /v1 per gateway key, app and status class (2xx, 4xx, 5xx).', [
    'key',
    'app',
    'status_class',
  ]);
  private readonly tokens = this.counter('tokens_total', 'Tokens Dify reported as used, by app and gateway key.', ['app', 'key']);
  private readonly cost = this.counter('cost_total', 'Price Dify reported, in its currency, by app, gateway key and currency.', ['app', 'key', 'currency']);
  private readonly upstream = new Histogram({
    name: `${METRIC_PREFIX}dify_upstream_duration_seconds`,
    help: 'Time from sending one attempt to Dify until its answer began (or failed), by app, route and result.',
    labelNames: ['app', 'route', 'result'] as const,
    buckets: DURATION_BUCKETS.slice(0, -2),
    registers: [this.registry],
  });
  private readonly retries = this.counter('dify_retries_total', 'Attempts repeated by the gateway, by app, route and the failure that was retried.', [
    'app',
    'route',
    'reason',
  ]);
  private readonly breakerState = new Gauge({
    name: `${METRIC_PREFIX}dify_breaker_state`,
    help: 'Circuit breaker state per Dify app: 1 for the state it is in, 0 for the others.',
    labelNames: ['app', 'state'] as const,
    registers: [this.registry],
  });
  private readonly breakerTransitions = this.counter('dify_breaker_transitions_total', 'Circuit breaker state changes per Dify app and new state.', [
    'app',
    'state',
  ]);
  private readonly rejected = this.counter('rejected_requests_total', 'Calls the gateway refused before reaching Dify, by route, app and reason.', [
    'route',
    'app',
    'reason',
  ]);
  private readonly rateLimited = this.counter('rate_limited_total', 'Calls answered 429, by route, app, who limited them (dify or gateway) and code.', [
    'route',
    'app',
    'source',
    'code',
  ]);
  private readonly inflight = new Gauge({
    name: `${METRIC_PREFIX}dify_inflight_calls`,
    help: 'Calls to Dify in progress per app (the bulkhead occupancy), streams included.',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });
  private readonly stops = this.counter('dify_stream_stops_total', 'Stop calls sent to Dify for streams whose caller went away, by app and result.', [
    'app',
    'result',
  ]);

  constructor() {
    collectProcessMetrics(this.registry);
  }

  observeCall(call: CallMetric): void {
    const route = labelValue(call.route);
    const app = labelValue(call.app);
    const labels = { route, app, status: labelValue(call.status) };
    this.requests.inc(labels);
    this.duration.observe(labels, call.seconds);
    const key = this.keys.value(call.key);
    this.keyRequests.inc({ key, app, status_class: statusClass(call.status) });
    if (call.firstByteSeconds !== undefined) this.firstByte.observe({ route, app }, call.firstByteSeconds);
    if (typeof call.tokens === 'number' && call.tokens > 0) this.tokens.inc({ app, key }, call.tokens);
    const price = call.cost ? Number(call.cost) : 0;
    if (Number.isFinite(price) && price > 0) this.cost.inc({ app, key, currency: labelValue(call.currency?.toUpperCase(), 'unknown') }, price);
  }

  upstreamAttempt(app: string, route: string, result: string, seconds: number): void {
    this.upstream.observe({ app: labelValue(app), route: labelValue(route), result: labelValue(result) }, seconds);
  }

  retry(app: string, route: string, reason: string): void {
    this.retries.inc({ app: labelValue(app), route: labelValue(route), reason: labelValue(reason) });
  }

  breaker(app: string, state: BreakerStateName, transition: boolean): void {
    for (const s of BREAKER_STATES) this.breakerState.set({ app: labelValue(app), state: s }, s === state ? 1 : 0);
    if (transition) this.breakerTransitions.inc({ app: labelValue(app), state });
  }

  reject(route: string, app: string | null, reason: string): void {
    this.rejected.inc({ route: labelValue(route), app: labelValue(app), reason: labelValue(reason) });
  }

  limited(route: string, app: string | null, source: 'dify' | 'gateway', code: string): void {
    this.rateLimited.inc({ route: labelValue(route), app: labelValue(app), source, code: labelValue(code) });
  }

  inflightCalls(app: string, value: number): void {
    this.inflight.set({ app: labelValue(app) }, value);
  }

  streamStop(app: string, result: string): void {
    this.stops.inc({ app: labelValue(app), result: labelValue(result) });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] });
  }
}
