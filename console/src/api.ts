import type { Session } from './session';

/** An error in the gateway's shape (`{code, message, status}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Params = Record<string, string | number | undefined>;

/** This tab's request ids share a prefix, so the page can tell its own audited reads from other activity. */
export const OWN_REQUEST_PREFIX = `console-${Math.random().toString(36).slice(2, 10)}-`;
let counter = 0;

export function query(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A request to the audit API with the session's headers; errors become ApiError. */
export async function call(session: Session, path: string, params: Params = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${path}${query(params)}`, {
      headers: { accept: 'application/json', 'x-request-id': `${OWN_REQUEST_PREFIX}${++counter}`, ...session.headers() },
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'The gateway cannot be reached.');
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { code?: string; message?: string } | null;
    throw new ApiError(res.status, body?.code ?? 'error', body?.message ?? `HTTP ${res.status}`);
  }
  return res;
}

export async function getJson<T>(session: Session, path: string, params: Params = {}): Promise<T> {
  return (await (await call(session, path, params)).json()) as T;
}

export interface AuditEvent {
  seq: number | null;
  sealed?: boolean;
  id: string;
  type: string;
  recorded_at: string | null;
  received_at?: string | null;
  call_id: string | null;
  request_id: string | null;
  caller_key_id: string | null;
  caller_name: string | null;
  app: string | null;
  method: string | null;
  route: string | null;
  end_user: string | null;
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
  details: Record<string, unknown> | null;
  prev_hash: string | null;
  hash: string | null;
  key_id: string | null;
  signature: string | null;
}

export interface EventPage {
  data: AuditEvent[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface CallSummary {
  call_id: string;
  state: string;
  request_id: string | null;
  caller_key_id: string | null;
  caller_name: string | null;
  app: string | null;
  method: string | null;
  route: string | null;
  end_user: string | null;
  started_at: string | null;
  finished_at: string | null;
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
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  first_seq: number | null;
  last_seq: number | null;
  checkpoints_checked: number;
  signed: boolean;
  started_from: string;
  problem: { kind: string; seq: number | null; event_id: string | null; message: string } | null;
  unsealed?: { count: number; oldest_id: string | null; oldest_received_at: string | null; oldest_age_ms: number | null; max_lag_ms: number } | null;
  latest_checkpoint?: { seq: number; kind: string; created_at: string; key_id: string | null; signed: boolean } | null;
  warnings: string[];
}

export interface StatsRow {
  day: string | null;
  caller_key_id: string | null;
  caller_name: string | null;
  app: string | null;
  calls: number;
  errors: number;
  total_tokens: number;
  cost: Record<string, string>;
}

/** Whether an event is sealed into the chain (older APIs had no `sealed` field: everything had a seq). */
export function isSealed(e: AuditEvent): boolean {
  return e.sealed ?? e.seq !== null;
}

/** The time to show for an event: when it was sealed, or, until then, when it was recorded. */
export function eventTime(e: AuditEvent): string | null {
  return e.recorded_at ?? e.received_at ?? null;
}
