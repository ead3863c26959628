import { redact } from '../common/redact.js';

/** What the gateway learns from a Dify answer on the fly, for the audit trail. */
export interface CallObservation {
  conversationId?: string;
  messageId?: string;
  taskId?: string;
  workflowRunId?: string;
  totalTokens?: number;
  /** Dify's `prompt_tokens` and `completion_tokens`, when it reports them (chat and completion usage). */
  promptTokens?: number;
  completionTokens?: number;
  totalPrice?: string;
  currency?: string;
  /** The stream reached a terminal event (message_end, workflow_finished, workflow_paused, error). */
  terminal?: string;
  /** An `error` event Dify sent inside the stream. */
  streamErrorCode?: string;
  /** When the first event of a stream was written to the caller (epoch ms), for the time-to-first-byte metric. */
  firstByteAt?: number;
  /** The answer text (only when asked for: the audit log stores it with AUDIT_STORE_TEXT), cut at 16 KiB. */
  answerText?: string;
}

export interface ObserveOptions {
  /** Also collect the answer text (`answer`, `text_chunk`, workflow `outputs`). */
  captureAnswer?: boolean;
}

const MAX_ANSWER = 16 * 1024;

const TERMINAL_EVENTS = new Set(['message_end', 'workflow_finished', 'workflow_paused', 'error']);
const MAX_PENDING_LINE = 1024 * 1024;

/** Reads ids and usage from one Dify JSON object (a blocking answer or one SSE event). */
export function observeJson(json: unknown, into: CallObservation, options: ObserveOptions = {}): void {
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
    if (typeof usage.prompt_tokens === 'number') into.promptTokens = usage.prompt_tokens;
    if (typeof usage.completion_tokens === 'number') into.completionTokens = usage.completion_tokens;
    into.totalPrice = str(usage.total_price) ?? into.totalPrice;
    into.currency = str(usage.currency) ?? into.currency;
  }
  const data = o.data as Record<string, unknown> | undefined;
  if (o.event === 'workflow_finished' || (!o.event && data && typeof data === 'object')) {
    if (data && typeof data.total_tokens === 'number') into.totalTokens = data.total_tokens;
  }
  if (o.event === 'node_finished' && data && typeof data === 'object') {
    // A workflow reports its price per node (LLM nodes); a chatflow's message_end usage, later, replaces the sum.
    const meta = data.execution_metadata as Record<string, unknown> | undefined;
    const price = str(meta?.total_price);
    if (price) {
      into.totalPrice = addDecimals(into.totalPrice ?? '0', price) ?? into.totalPrice;
      into.currency = str(meta?.currency) ?? into.currency;
    }
  }
  if (options.captureAnswer) observeAnswer(o, data, into);
  if (typeof o.event === 'string' && TERMINAL_EVENTS.has(o.event)) into.terminal = o.event;
  if (o.event === 'error') into.streamErrorCode = str(o.code) ?? 'unknown';
}

function observeAnswer(o: Record<string, unknown>, data: Record<string, unknown> | undefined, into: CallObservation): void {
  const append = (text: unknown) => {
    if (typeof text !== 'string' || (into.answerText?.length ?? 0) >= MAX_ANSWER) return;
    into.answerText = ((into.answerText ?? '') + text).slice(0, MAX_ANSWER);
  };
  if (o.event === 'message' || o.event === 'agent_message') append(o.answer);
  else if (o.event === 'message_replace' && typeof o.answer === 'string') into.answerText = o.answer.slice(0, MAX_ANSWER);
  else if (o.event === 'text_chunk') append(data?.text);
  else if ((o.event === 'workflow_finished' || (!o.event && data)) && data?.outputs && into.answerText === undefined) append(JSON.stringify(data.outputs));
  else if (!o.event && typeof o.answer === 'string') append(o.answer);
}

/** Sums two decimal strings exactly (`0.0000120` + `0.5` = `0.5000120`); undefined if either is not a decimal. */
export function addDecimals(a: string, b: string): string | undefined {
  const parse = /^(-?)(\d{1,30})(?:\.(\d{1,20}))?$/;
  const ma = parse.exec(a);
  const mb = parse.exec(b);
  if (!ma || !mb) return undefined;
  const scale = Math.max(ma[3]?.length ?? 0, mb[3]?.length ?? 0);
  const scaled = (m: RegExpExecArray) => BigInt(`${m[1]}${m[2]}${(m[3] ?? '').padEnd(scale, '0')}`);
  const sum = scaled(ma) + scaled(mb);
  const digits = (sum < 0n ? -sum : sum).toString().padStart(scale + 1, '0');
  const whole = scale ? digits.slice(0, -scale) : digits;
  return `${sum < 0n ? '-' : ''}${whole}${scale ? `.${digits.slice(-scale)}` : ''}`;
}

/**
 * Sits in the SSE path: it forwards whole lines only (Dify's events are one line each, so
 * holding back a partial line delays nothing a client could use), reads ids and usage from
 * `data:` lines as they pass, and masks secrets in Dify's in-stream `error` events, which may
 * quote provider text. Every other byte is forwarded exactly as received.
 */
export class SseObserver {
  private pending: Buffer = Buffer.alloc(0);
  private passthrough = false;

  constructor(
    readonly observation: CallObservation = {},
    private readonly options: ObserveOptions = {},
  ) {}

  /** Takes the next upstream chunk; returns the bytes to forward now. */
  push(chunk: Buffer): Buffer {
    if (this.passthrough) return chunk;
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = buf.lastIndexOf(0x0a);
    if (end === -1) {
      this.pending = buf;
      if (buf.length > MAX_PENDING_LINE) return this.giveUp();
      return EMPTY;
    }
    this.pending = buf.subarray(end + 1);
    return this.lines(buf.subarray(0, end + 1));
  }

  /** The upstream ended: whatever is left goes out as it is. */
  end(): Buffer {
    const rest = this.pending;
    this.pending = EMPTY;
    return rest;
  }

  /** A line this long is not a Dify event: stop looking and forward everything untouched. */
  private giveUp(): Buffer {
    this.passthrough = true;
    return this.end();
  }

  private lines(complete: Buffer): Buffer {
    let rewritten = false;
    const lines = complete.toString('utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const masked = this.line(lines[i]);
      if (masked !== undefined) {
        lines[i] = masked;
        rewritten = true;
      }
    }
    return rewritten ? Buffer.from(lines.join('\n'), 'utf8') : complete;
  }

  /** Observes one line; returns a replacement only when it had to be masked. */
  private line(line: string): string | undefined {
    if (!line.startsWith('data:')) return undefined;
    let event: unknown;
    try {
      event = JSON.parse(line.slice(5).trim());
    } catch {
      return undefined; // not JSON: forward untouched, learn nothing
    }
    observeJson(event, this.observation, this.options);
    if ((event as { event?: unknown } | null)?.event !== 'error') return undefined;
    const masked = JSON.stringify(redact(event));
    return masked === stringifyOrNull(event) ? undefined : `data: ${masked}${line.endsWith('\r') ? '\r' : ''}`;
  }
}

const EMPTY = Buffer.alloc(0);

/** JSON.stringify throws on values nested beyond the stack; such an event is never forwarded as it came. */
function stringifyOrNull(value: unknown): string | null {
  try {
    return JSON.stringify(value);
  } catch {
    return null;
  }
}
