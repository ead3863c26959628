import type { IncomingHttpHeaders } from 'node:http';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { CallTracer, type AttemptEnd, type AttemptSpan, type CallStep, type CallSummary, type CallTrace } from './call-tracer.js';

/**
 * W3C trace context only, whatever OTEL_PROPAGATORS says: the caller's `baggage` (or a vendor
 * header) is not forwarded to Dify today, and turning tracing on must not start doing it.
 */
const propagator = new W3CTraceContextPropagator();

/** gen_ai.operation.name of the generation routes (OpenTelemetry GenAI semantic conventions). */
const GEN_AI_OPERATIONS: Record<string, string> = {
  'chat.create': 'chat',
  'completion.create': 'text_completion',
  'workflow.run': 'invoke_workflow',
  'workflow.run_version': 'invoke_workflow',
};

/** The tracer of the OpenTelemetry SDK (started by otel-sdk.ts): manual spans only, no auto-instrumentation. */
export class OtelCallTracer extends CallTracer {
  readonly enabled = true;

  constructor(
    private readonly tracer: Tracer,
    private readonly flush: () => Promise<void>,
  ) {
    super();
  }

  startCall(method: string, headers: IncomingHttpHeaders): CallTrace {
    const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    // Named by its method until the route row is known (HTTP conventions): never by a raw path.
    const span = this.tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
    return new OtelCallTrace(this.tracer, span, trace.setSpan(parent, span));
  }

  shutdown(): Promise<void> {
    return this.flush();
  }
}

class OtelCallTrace implements CallTrace {
  readonly logFields: { trace_id: string; span_id: string };
  private resends = 0;
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly context: Context,
  ) {
    const { traceId, spanId } = span.spanContext();
    this.logFields = { trace_id: traceId, span_id: spanId };
  }

  attempt(method: string, template: string): AttemptSpan {
    const attributes: Attributes = { 'http.request.method': method, 'url.template': template };
    if (this.resends > 0) attributes['http.request.resend_count'] = this.resends;
    this.resends += 1;
    const span = this.tracer.startSpan(`${method} ${template}`, { kind: SpanKind.CLIENT, attributes }, this.context);
    return new OtelAttemptSpan(span, trace.setSpan(this.context, span));
  }

  async step<T>(name: CallStep, run: () => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL }, this.context);
    try {
      return await run();
    } catch (error) {
      span.setAttribute('error.type', errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  }

  end(summary: CallSummary): void {
    if (this.ended) return;
    this.ended = true;
    const { route, usage } = summary;
    const attributes: Attributes = {
      'http.response.status_code': summary.status,
      'dify_gateway.request_id': summary.requestId,
      'dify_gateway.outcome': summary.outcome,
      'dify_gateway.attempts': summary.attempts,
    };
    if (route) {
      this.span.updateName(`${route.method} /v1${route.path}`);
      attributes['http.route'] = `/v1${route.path}`;
      attributes['dify_gateway.route'] = route.name;
      const operation = GEN_AI_OPERATIONS[route.name];
      if (operation) Object.assign(attributes, { 'gen_ai.operation.name': operation, 'gen_ai.provider.name': 'dify', 'gen_ai.system': 'dify' });
    }
    if (summary.app) attributes['dify_gateway.app'] = summary.app;
    if (summary.keyId) attributes['dify_gateway.key_id'] = summary.keyId;
    if (summary.errorCode) attributes['dify_gateway.error_code'] = summary.errorCode;
    if (summary.upstreamStatus != null) attributes['dify_gateway.upstream_status'] = summary.upstreamStatus;
    if (usage?.inputTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = usage.inputTokens;
    if (usage?.outputTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
    if (usage?.totalTokens !== undefined) attributes['dify.usage.total_tokens'] = usage.totalTokens;
    if (usage?.totalPrice !== undefined) attributes['dify.usage.total_price'] = usage.totalPrice;
    if (usage?.currency !== undefined) attributes['dify.usage.currency'] = usage.currency;
    // A server span is an error for a 5xx only: a 4xx is the caller's, answered as it should be.
    if (summary.status >= 500) {
      attributes['error.type'] = summary.errorCode ?? String(summary.status);
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.span.setAttributes(attributes);
    this.span.end();
  }
}

class OtelAttemptSpan implements AttemptSpan {
  constructor(
    private readonly span: Span,
    private readonly context: Context,
  ) {}

  headers<H extends Record<string, unknown>>(base: H): H {
    const out: Record<string, unknown> = { ...base };
    // The caller's trace context is continued through this span; its own header would name the wrong parent.
    delete out.traceparent;
    delete out.tracestate;
    propagator.inject(this.context, out, defaultTextMapSetter);
    return out as H;
  }

  end({ label, status }: AttemptEnd): void {
    if (status !== undefined) this.span.setAttribute('http.response.status_code', status);
    // For a client, any answer but a 2xx (or none at all) is a failed attempt.
    if (status === undefined || status >= 400) {
      this.span.setAttribute('error.type', label);
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.span.end();
  }
}

/** A short class of error, never its message (which may quote a body or a header). */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}
