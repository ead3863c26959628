import type { IncomingHttpHeaders } from 'node:http';

/**
 * What a finished /v1 call tells its span: route template, app, key id, status, outcome, attempts
 * and the usage Dify reported. Deliberately nothing else: no prompt or answer text, no query, no
 * inputs, no key, no end user, no conversation id can reach a span, because none is passed here.
 */
export interface CallSummary {
  /** The route row: its method and template (`/chat-messages/:task_id/stop`), never the raw path. */
  route?: { name: string; method: string; path: string };
  app?: string | null;
  /** The gateway key's id (not the key). */
  keyId?: string | null;
  requestId: string;
  status: number;
  outcome: string;
  errorCode?: string | null;
  upstreamStatus?: number | null;
  attempts: number;
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number; totalPrice?: string; currency?: string };
}

/** How one upstream attempt ended: its metric label ('200', '503', 'network', 'cancelled'...) and status. */
export interface AttemptEnd {
  label: string;
  status?: number;
}

/** The span of one upstream attempt (CLIENT). */
export interface AttemptSpan {
  /** The attempt's headers: the caller's trace context replaced by this span's (W3C `traceparent`). */
  headers<H extends Record<string, unknown>>(base: H): H;
  end(outcome: AttemptEnd): void;
}

/** What the Dify client sees of a call's trace: one span per attempt, or none when tracing is off. */
export interface UpstreamTrace {
  attempt(method: string, template: string): AttemptSpan | undefined;
}

/** Child steps of a call that get their own span. */
export type CallStep = 'audit.write_ahead' | 'relay';

/** The trace of one /v1 call: its SERVER span, its child spans, its log fields. */
export interface CallTrace extends UpstreamTrace {
  /** `trace_id` and `span_id` for the call's log lines; undefined when tracing is off. */
  readonly logFields: { trace_id: string; span_id: string } | undefined;
  /** Runs one step of the call inside its own child span. */
  step<T>(name: CallStep, run: () => Promise<T>): Promise<T>;
  /** Ends the call's span with what the call came to (once; later calls are ignored). */
  end(summary: CallSummary): void;
}

/** Starts a trace per /v1 call. Injected (src/tracing/tracing.module.ts); a no-op when tracing is off. */
export abstract class CallTracer {
  abstract readonly enabled: boolean;
  /** `headers`: the caller's, for its `traceparent` (continued when valid). */
  abstract startCall(method: string, headers: IncomingHttpHeaders): CallTrace;
  /** Flushes the spans not yet exported. */
  abstract shutdown(): Promise<void>;
}

const NOOP_TRACE: CallTrace = {
  logFields: undefined,
  attempt: () => undefined,
  step: (_name, run) => run(),
  end: () => undefined,
};

/** Tracing off: one shared object, no allocation per call, the caller's `traceparent` forwarded as it came. */
export class NoopCallTracer extends CallTracer {
  readonly enabled = false;
  startCall(): CallTrace {
    return NOOP_TRACE;
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
