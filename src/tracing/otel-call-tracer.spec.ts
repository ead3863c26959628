import { describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { NoopCallTracer } from './call-tracer.js';
import { OtelCallTracer } from './otel-call-tracer.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function tracer() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { exporter, tracer: new OtelCallTracer(provider.getTracer('spec'), () => provider.shutdown()) };
}

describe('OtelCallTracer', () => {
  it('continues a valid caller traceparent, and hands Dify the attempt span as parent', () => {
    const { tracer: calls, exporter } = tracer();
    const trace = calls.startCall('POST', { traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, tracestate: 'congo=t61rcWkgMzE' });
    const attempt = trace.attempt('POST', '/chat-messages')!;
    const headers = attempt.headers({ traceparent: 'stale', tracestate: 'stale', 'X-Request-Id': 'r1' });
    attempt.end({ label: '200', status: 200 });
    trace.end({ requestId: 'r1', status: 200, outcome: 'success', attempts: 1 });
    const [client, server] = exporter.getFinishedSpans();
    expect(server!.spanContext().traceId).toBe(TRACE);
    expect(server!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(client!.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
    expect(headers).toEqual({ traceparent: `00-${TRACE}-${client!.spanContext().spanId}-01`, tracestate: 'congo=t61rcWkgMzE', 'X-Request-Id': 'r1' });
    expect(trace.logFields).toEqual({ trace_id: TRACE, span_id: server!.spanContext().spanId });
  });

  it('starts a new trace for a malformed traceparent, and drops a tracestate that came without one', () => {
    const { tracer: calls } = tracer();
    const trace = calls.startCall('GET', { traceparent: '00-not-a-trace-01', tracestate: 'vendor=x' });
    const headers = trace.attempt('GET', '/info')!.headers<Record<string, string>>({ tracestate: 'vendor=x' });
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(headers.traceparent).not.toContain('not-a-trace');
    expect(headers).not.toHaveProperty('tracestate');
  });

  it('counts resends, marks failed attempts and 5xx calls as errors, ends a call once', () => {
    const { tracer: calls, exporter } = tracer();
    const trace = calls.startCall('GET', {});
    trace.attempt('GET', '/info')!.end({ label: 'network' });
    trace.attempt('GET', '/info')!.end({ label: '502', status: 502 });
    const route = { name: 'app.info', method: 'GET', path: '/info' };
    const summary = { route, requestId: 'r', status: 502, outcome: 'upstream_error', errorCode: 'dify_bad_gateway', attempts: 2 };
    trace.end(summary);
    trace.end({ ...summary, status: 200 });
    const [first, second, server] = exporter.getFinishedSpans();
    expect(exporter.getFinishedSpans()).toHaveLength(3);
    expect(first!.attributes).toMatchObject({ 'error.type': 'network' });
    expect(first!.attributes['http.request.resend_count']).toBeUndefined();
    expect(second!.attributes).toMatchObject({ 'http.request.resend_count': 1, 'http.response.status_code': 502, 'error.type': '502' });
    expect(server!.name).toBe('GET /v1/info');
    expect(server!.attributes).toMatchObject({ 'http.route': '/v1/info', 'http.response.status_code': 502, 'error.type': 'dify_bad_gateway' });
    expect(server!.status.code).toBe(2);
  });

  it('records a failed step with its error code, never its message', async () => {
    const { tracer: calls, exporter } = tracer();
    const trace = calls.startCall('POST', {});
    const failure = Object.assign(new Error('secret CANARY in a message'), { code: 'audit_unavailable' });
    await expect(trace.step('audit.write_ahead', () => Promise.reject(failure))).rejects.toBe(failure);
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('audit.write_ahead');
    expect(span!.attributes).toEqual({ 'error.type': 'audit_unavailable' });
    expect(JSON.stringify(span!.events)).not.toContain('CANARY');
  });
});

describe('NoopCallTracer', () => {
  it('makes no span and leaves the headers to the caller', async () => {
    const trace = new NoopCallTracer().startCall();
    expect(trace.attempt('POST', '/chat-messages')).toBeUndefined();
    expect(trace.logFields).toBeUndefined();
    await expect(trace.step('relay', () => Promise.resolve(7))).resolves.toBe(7);
  });
});
