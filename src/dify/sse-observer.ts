import { StringDecoder } from 'node:string_decoder';

/** What the gateway learns from a Dify answer on the fly, for the audit trail. */
export interface CallObservation {
  conversationId?: string;
  messageId?: string;
  taskId?: string;
  workflowRunId?: string;
  totalTokens?: number;
  totalPrice?: string;
  currency?: string;
  /** The stream reached a terminal event (message_end, workflow_finished, workflow_paused, error). */
  terminal?: string;
  /** An `error` event Dify sent inside the stream. */
  streamErrorCode?: string;
}

const TERMINAL_EVENTS = new Set(['message_end', 'workflow_finished', 'workflow_paused', 'error']);
const MAX_PENDING_LINE = 1024 * 1024;

/** Reads ids and usage from one Dify JSON object (a blocking answer or one SSE event). */
export function observeJson(json: unknown, into: CallObservation): void {
  if (!json || typeof json !== 'object') return;
  const o = json as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.length <= 200 ? v : undefined);
  into.conversationId ??= str(o.conversation_id);
  into.messageId ??= str(o.message_id) ?? (o.event === 'message' || o.event === 'message_end' ? str(o.id) : undefined);
  into.taskId ??= str(o.task_id);
  into.workflowRunId ??= str(o.workflow_run_id);
  const metadata = o.metadata as { usage?: Record<string, unknown> } | undefined;
  const usage = metadata?.usage;
  if (usage && typeof usage === 'object') {
    if (typeof usage.total_tokens === 'number') into.totalTokens = usage.total_tokens;
    into.totalPrice = str(usage.total_price) ?? into.totalPrice;
    into.currency = str(usage.currency) ?? into.currency;
  }
  const data = o.data as Record<string, unknown> | undefined;
  if (o.event === 'workflow_finished' || (!o.event && data && typeof data === 'object')) {
    if (data && typeof data.total_tokens === 'number') into.totalTokens = data.total_tokens;
  }
  if (typeof o.event === 'string' && TERMINAL_EVENTS.has(o.event)) into.terminal = o.event;
  if (o.event === 'error') into.streamErrorCode = str(o.code) ?? 'unknown';
}

/**
 * Splits SSE bytes into `data:` lines as they pass, without holding the stream: chunks are
 * forwarded by the caller of `push`, this only looks at them.
 */
export class SseObserver {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private gaveUp = false;

  constructor(readonly observation: CallObservation = {}) {}

  push(chunk: Buffer): void {
    if (this.gaveUp) return;
    const text = this.pending + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > MAX_PENDING_LINE) {
      this.gaveUp = true; // a line this long is not a Dify event; stop looking, keep forwarding
      this.pending = '';
    }
    for (const line of lines) this.line(line.replace(/\r$/, ''));
  }

  private line(line: string): void {
    if (!line.startsWith('data:')) return;
    try {
      observeJson(JSON.parse(line.slice(5).trim()), this.observation);
    } catch {
      // not JSON: forward untouched, learn nothing
    }
  }
}
