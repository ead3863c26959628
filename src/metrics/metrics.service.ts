import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { redactText } from '../common/redact.js';

/** Label values are short identifiers from a closed vocabulary; anything else becomes `other`. */
const LABEL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Every label value goes through the masking helper and a strict character check, so that no
 * secret or free text can reach `/metrics`: routes are route-table names, apps are configured
 * aliases, callers are key ids, statuses are numbers, reasons come from fixed lists.
 */
export function labelValue(value: string | number | null | undefined, fallback = 'none'): string {
  if (value === null || value === undefined || value === '') return fallback;
  const text = String(value);
  const known = checkedLabels.get(text);
  if (known !== undefined) return known;
  const label = LABEL_VALUE.test(text) && redactText(text) === text ? text : 'other';
  // Label values repeat on every call (route names, aliases, key ids): each is masked once.
  if (checkedLabels.size >= CHECKED_LABELS_MAX) checkedLabels.clear();
  checkedLabels.set(text, label);
  return label;
}

const CHECKED_LABELS_MAX = 10_000;
const checkedLabels = new Map<string, string>();

export type BreakerStateName = 'closed' | 'open' | 'half_open';
const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, open: 1, half_open: 2 };

export interface CallMetric {
  route: string;
  app: string | null;
  caller: string | null;
  status: number;
  seconds: number;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (one per application instance, so
 * tests can run several gateways in one process).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Calls to /v1 by route, Dify app, caller key id and answered status.',
    labelNames: ['route', 'app', 'caller', 'status'] as const,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'Duration of /v1 calls (streams until their end) by route, app, caller and status.',
    labelNames: ['route', 'app', 'caller', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 1200],
    registers: [this.registry],
  });

  private readonly upstream = new Histogram({
    name: 'gateway_dify_upstream_duration_seconds',
    help: 'Time from sending one attempt to Dify until its answer began (or failed), by app, route and result.',
    labelNames: ['app', 'route', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  private readonly retries = new Counter({
    name: 'gateway_dify_retries_total',
    help: 'Attempts repeated by the gateway, by app, route and the failure that was retried.',
    labelNames: ['app', 'route', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly breakerState = new Gauge({
    name: 'gateway_dify_breaker_state',
    help: 'Circuit breaker state per Dify app: 0 closed, 1 open, 2 half-open.',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });

  private readonly breakerTransitions = new Counter({
    name: 'gateway_dify_breaker_transitions_total',
    help: 'Circuit breaker state changes per Dify app and new state.',
    labelNames: ['app', 'state'] as const,
    registers: [this.registry],
  });

  private readonly rejected = new Counter({
    name: 'gateway_rejected_requests_total',
    help: 'Calls the gateway refused before reaching Dify, by route, app and reason.',
    labelNames: ['route', 'app', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Calls answered 429, by route, app, who limited them (dify or gateway) and code.',
    labelNames: ['route', 'app', 'source', 'code'] as const,
    registers: [this.registry],
  });

  private readonly inflight = new Gauge({
    name: 'gateway_dify_inflight_calls',
    help: 'Calls to Dify in progress per app (the bulkhead occupancy), streams included.',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });

  private readonly stops = new Counter({
    name: 'gateway_dify_stream_stops_total',
    help: 'Stop calls sent to Dify for streams whose caller went away, by app and result.',
    labelNames: ['app', 'result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }

  observeCall(call: CallMetric): void {
    const labels = {
      route: labelValue(call.route),
      app: labelValue(call.app),
      caller: labelValue(call.caller, 'anonymous'),
      status: labelValue(call.status),
    };
    this.requests.inc(labels);
    this.duration.observe(labels, call.seconds);
  }

  upstreamAttempt(app: string, route: string, result: string, seconds: number): void {
    this.upstream.observe({ app: labelValue(app), route: labelValue(route), result: labelValue(result) }, seconds);
  }

  retry(app: string, route: string, reason: string): void {
    this.retries.inc({ app: labelValue(app), route: labelValue(route), reason: labelValue(reason) });
  }

  breaker(app: string, state: BreakerStateName, transition: boolean): void {
    this.breakerState.set({ app: labelValue(app) }, BREAKER_STATE_VALUE[state]);
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
}
