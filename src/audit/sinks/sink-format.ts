import type { HttpSinkConfig } from '../../config/audit-sinks.js';
import type { PresentedEvent } from '../read/audit-presenter.js';

/**
 * Bodies of HTTP batches. Each event is exactly what the audit API and its NDJSON export show
 * (masked at write time, chain columns included), so a receiver checks `seq`, `hash` and
 * `prev_hash` the same way as on an export.
 */
export function httpBody(sink: Pick<HttpSinkConfig, 'type' | 'sourcetype' | 'index'>, events: PresentedEvent[]): string {
  if (sink.type === 'webhook') return events.map((e) => `${JSON.stringify(e)}\n`).join('');
  // Splunk HEC accepts several event objects in one request, one after the other.
  return events.map((e) => `${JSON.stringify(splunkEnvelope(sink, e))}\n`).join('');
}

export function httpContentType(type: HttpSinkConfig['type']): string {
  return type === 'webhook' ? 'application/x-ndjson' : 'application/json';
}

/** HEC's event envelope: `time` in epoch seconds (milliseconds as decimals), the event as is. */
function splunkEnvelope(sink: Pick<HttpSinkConfig, 'sourcetype' | 'index'>, e: PresentedEvent) {
  const time = typeof e.recorded_at === 'string' ? Date.parse(e.recorded_at) / 1000 : undefined;
  return { time, source: 'dify-gateway', sourcetype: sink.sourcetype, ...(sink.index ? { index: sink.index } : {}), event: e };
}
