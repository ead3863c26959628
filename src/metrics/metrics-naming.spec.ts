import { describe, expect, it } from '@jest/globals';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { lintExposition, parseExposition } from '../../test/support/prom-lint.js';
import { KeyLabels } from './metric-labels.js';
import { MetricsService } from './metrics.service.js';

const RULES = { prefix: 'dify_gateway_', forbiddenHistogramLabels: ['key', 'caller'] };

/** A service that has seen one of everything, so every family has samples to check. */
async function exercised(): Promise<string> {
  const m = new MetricsService();
  m.observeCall({
    route: 'chat.create',
    app: 'default',
    key: 'k-1',
    status: 200,
    seconds: 0.4,
    tokens: 120,
    cost: '0.0031',
    currency: 'USD',
    firstByteSeconds: 0.08,
  });
  m.observeCall({ route: 'chat.create', app: 'default', key: null, status: 401, seconds: 0.001 });
  m.upstreamAttempt('default', 'chat.create', 'ok', 0.3);
  m.retry('default', 'chat.create', 'status_503');
  m.breaker('default', 'open', true);
  m.reject('chat.create', 'default', 'breaker_open');
  m.limited('chat.create', 'default', 'gateway', 'too_many_requests');
  m.inflightCalls('default', 2);
  m.streamStop('default', 'sent');
  m.audit.writeAheadDone(0.002);
  m.audit.batchDone('write', 12);
  m.audit.batchDone('seal', 300);
  m.audit.sealed([0.2, 0.4]);
  m.audit.backlog('memory', () => 0);
  m.audit.backlog('inbox', async () => 7);
  return (await m.render()).body;
}

describe('the /metrics exposition', () => {
  it('passes the naming rules (promtool check metrics, reimplemented) and the gateway own', async () => {
    expect(lintExposition(await exercised(), RULES)).toEqual([]);
  });

  it('has the families the README documents, with their labels', async () => {
    const families = parseExposition(await exercised());
    const labels = (name: string) => [...new Set(families.get(name)?.samples.flatMap((s) => Object.keys(s.labels)) ?? [])].sort();
    expect(families.get('dify_gateway_requests_total')?.type).toBe('counter');
    expect(labels('dify_gateway_request_duration_seconds')).toEqual(['app', 'le', 'route', 'status']);
    expect(labels('dify_gateway_key_requests_total')).toEqual(['app', 'key', 'status_class']);
    expect(labels('dify_gateway_tokens_total')).toEqual(['app', 'key']);
    expect(labels('dify_gateway_cost_total')).toEqual(['app', 'currency', 'key']);
    expect(labels('dify_gateway_stream_first_byte_seconds')).toEqual(['app', 'le', 'route']);
    for (const name of ['audit_write_ahead_duration_seconds', 'audit_seal_lag_seconds', 'audit_batch_size']) {
      expect(families.get(`dify_gateway_${name}`)?.type).toBe('histogram');
    }
    expect(families.get('dify_gateway_audit_backlog_events')?.samples).toEqual([
      { name: 'dify_gateway_audit_backlog_events', labels: { queue: 'memory' } },
      { name: 'dify_gateway_audit_backlog_events', labels: { queue: 'inbox' } },
    ]);
    expect(families.has('dify_gateway_nodejs_active_handles')).toBe(true);
  });

  it('shows the breaker state as a state label with 0/1 values', async () => {
    const text = await exercised();
    const lines = text.split('\n').filter((l) => l.startsWith('dify_gateway_dify_breaker_state{'));
    expect(lines.sort()).toEqual([
      'dify_gateway_dify_breaker_state{app="default",state="closed"} 0',
      'dify_gateway_dify_breaker_state{app="default",state="half_open"} 0',
      'dify_gateway_dify_breaker_state{app="default",state="open"} 1',
    ]);
    expect(text).toContain('dify_gateway_tokens_total{app="default",key="k-1"} 120');
    expect(text).toContain('dify_gateway_cost_total{app="default",key="k-1",currency="USD"} 0.0031');
  });

  it('flags what breaks the rules (the old names among them)', async () => {
    const registry = new Registry();
    new Gauge({ name: 'gateway_dify_breaker_state', help: 'x', registers: [registry] }).set(1);
    new Gauge({ name: 'dify_gateway_active_handles_total', help: 'x', registers: [registry] }).set(1);
    new Counter({ name: 'dify_gateway_requests', help: 'x', registers: [registry] }).inc();
    new Counter({ name: 'dify_gateway_latency_ms_total', help: 'x', registers: [registry] }).inc();
    new Histogram({ name: 'dify_gateway_duration_seconds', help: 'x', labelNames: ['key'], registers: [registry] }).observe({ key: 'k' }, 1);
    new Gauge({ name: 'dify_gateway_queueDepth', help: 'x', registers: [registry] }).set(1);
    const problems = lintExposition(await registry.metrics(), RULES);
    expect(problems).toEqual(
      expect.arrayContaining([
        'gateway_dify_breaker_state: missing prefix dify_gateway_',
        'dify_gateway_active_handles_total: non-counter metrics should not have "_total" suffix',
        'dify_gateway_requests: counter metrics should have "_total" suffix',
        'dify_gateway_latency_ms_total: use base units (seconds, bytes, ratio) and no abbreviations',
        'dify_gateway_duration_seconds: histogram with a "key" label (cardinality)',
        'dify_gateway_queueDepth: metric names should be snake_case, not camelCase',
      ]),
    );
  });
});

describe('the per-key label', () => {
  it('is bounded: beyond its limit, new keys share "other"; unknown callers are "anonymous"', () => {
    const keys = new KeyLabels(2);
    expect([keys.value('a'), keys.value('b'), keys.value('c'), keys.value('a'), keys.value(null)]).toEqual(['a', 'b', 'other', 'a', 'anonymous']);
  });
});
