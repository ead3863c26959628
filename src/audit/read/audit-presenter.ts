import type { AuditRow } from '../audit-event.js';

/** The columns of an event in the API, NDJSON and CSV, in this order. */
export const EVENT_COLUMNS = [
  'seq',
  'sealed',
  'id',
  'type',
  'recorded_at',
  'received_at',
  'instance_id',
  'call_id',
  'request_id',
  'caller_key_id',
  'caller_name',
  'app',
  'method',
  'route',
  'end_user',
  'status',
  'upstream_status',
  'outcome',
  'error_code',
  'latency_ms',
  'attempts',
  'conversation_id',
  'message_id',
  'task_id',
  'workflow_run_id',
  'total_tokens',
  'total_price',
  'currency',
  'prompt_text',
  'answer_text',
  'details',
  'prev_hash',
  'hash',
  'key_id',
  'signature',
] as const;

export type PresentedEvent = Record<(typeof EVENT_COLUMNS)[number], unknown>;

/**
 * An event as the API shows it (snake_case, like Dify's own API), chain columns included. An
 * event recorded but not sealed yet has `sealed: false` and null `seq`, `recorded_at` and chain
 * columns; `received_at` is when it was recorded (null on events sealed before it existed).
 */
export function presentEvent(e: AuditRow): PresentedEvent {
  return {
    seq: e.seq,
    sealed: e.seq !== null,
    id: e.id,
    type: e.type,
    recorded_at: e.recordedAt?.toISOString() ?? null,
    received_at: e.receivedAt?.toISOString() ?? null,
    instance_id: e.instanceId,
    call_id: e.callId,
    request_id: e.requestId,
    caller_key_id: e.callerKeyId,
    caller_name: e.callerName,
    app: e.appAlias,
    method: e.method,
    route: e.route,
    end_user: e.endUser,
    status: e.status,
    upstream_status: e.upstreamStatus,
    outcome: e.outcome,
    error_code: e.errorCode,
    latency_ms: e.latencyMs,
    attempts: e.attempts,
    conversation_id: e.conversationId,
    message_id: e.messageId,
    task_id: e.taskId,
    workflow_run_id: e.workflowRunId,
    total_tokens: e.totalTokens,
    total_price: e.totalPrice,
    currency: e.currency,
    prompt_text: e.promptText,
    answer_text: e.answerText,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
    key_id: e.keyId,
    signature: e.signature,
  };
}

export interface CallSummary {
  call_id: string;
  /** `finished`, `in_progress` (started, no outcome yet), or `closed_on_recovery` (its gateway died). */
  state: 'finished' | 'in_progress' | 'closed_on_recovery';
  request_id: string | null;
  caller_key_id: string | null;
  caller_name: string | null;
  app: string | null;
  method: string | null;
  route: string | null;
  end_user: string | null;
  started_at: string | null;
  finished_at: string | null;
  /** The call passed the gateway's checks and its `call.started` was committed: it was sent (or about to be sent) to Dify. */
  forwarded: boolean;
  status: number | null;
  upstream_status: number | null;
  outcome: string | null;
  error_code: string | null;
  latency_ms: number | null;
  attempts: number | null;
  conversation_id: string | null;
  message_id: string | null;
  task_id: string | null;
  workflow_run_id: string | null;
  total_tokens: number | null;
  total_price: string | null;
  currency: string | null;
  prompt_text: string | null;
  answer_text: string | null;
}

/**
 * One call from its events: the identity and prompt from `call.started`, the outcome from the
 * last `call.finished` (a real outcome wins over a recovery's "unknown").
 */
export function summarizeCall(events: AuditRow[]): CallSummary | null {
  const started = events.find((e) => e.type === 'call.started');
  const finishes = events.filter((e) => e.type === 'call.finished');
  const finished = finishes.filter((e) => e.outcome !== 'unknown').at(-1) ?? finishes.at(-1);
  const base = finished ?? started;
  if (!base?.callId) return null;
  const startedAt = (started?.details?.started_at as string | undefined) ?? (finished?.details?.started_at as string | undefined) ?? null;
  return {
    call_id: base.callId,
    state: !finished ? 'in_progress' : finished.outcome === 'unknown' ? 'closed_on_recovery' : 'finished',
    request_id: base.requestId,
    caller_key_id: base.callerKeyId,
    caller_name: base.callerName,
    app: base.appAlias,
    method: base.method,
    route: base.route,
    end_user: base.endUser,
    started_at: startedAt,
    // Sealing time when sealed; until then, the time it was recorded.
    finished_at: (finished?.recordedAt ?? finished?.receivedAt)?.toISOString() ?? null,
    forwarded: Boolean(started),
    status: finished?.status ?? null,
    upstream_status: finished?.upstreamStatus ?? null,
    outcome: finished?.outcome ?? null,
    error_code: finished?.errorCode ?? null,
    latency_ms: finished?.latencyMs ?? null,
    attempts: finished?.attempts ?? null,
    conversation_id: finished?.conversationId ?? started?.conversationId ?? null,
    message_id: finished?.messageId ?? null,
    task_id: finished?.taskId ?? null,
    workflow_run_id: finished?.workflowRunId ?? null,
    total_tokens: finished?.totalTokens ?? null,
    total_price: finished?.totalPrice ?? null,
    currency: finished?.currency ?? null,
    prompt_text: started?.promptText ?? null,
    answer_text: finished?.answerText ?? null,
  };
}
