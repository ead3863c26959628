/**
 * The audit log's vocabulary. One table of append-only events: a /v1 call is a `call.started`
 * event committed before the request goes to Dify and a `call.finished` event when it ends (a call
 * refused before it could reach Dify has only the finished event). Admin actions, the auditors'
 * own reads and the gateway's lifecycle are events in the same chain.
 */

export const EVENT_TYPES = [
  'call.started',
  'call.finished',
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'config.reloaded',
  'admin.action',
  'access.refused',
  'auth.refused',
  'audit.query',
  'audit.export.started',
  'audit.export.finished',
  'audit.purged',
  'alert.raised',
  'gateway.started',
  'gateway.stopped',
  'gateway.recovered',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const ADMIN_EVENT_TYPES = ['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'config.reloaded', 'admin.action'] as const;
export type AdminEventType = (typeof ADMIN_EVENT_TYPES)[number];

/**
 * How a call ended. `unknown`: the gateway stopped (crash, SIGKILL) while the call was in flight;
 * Dify may or may not have run it.
 */
export const OUTCOMES = ['success', 'client_error', 'rejected', 'upstream_error', 'timeout', 'cancelled', 'stream_error', 'unknown'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** JSON values allowed in `details` (no floats, no undefined: they would not hash the same after a round trip). */
export type DetailValue = string | number | boolean | null | DetailValue[] | { [key: string]: DetailValue };
export type Details = { [key: string]: DetailValue };

/** The fields of an event that its writer chooses. Every optional field is stored as null when absent. */
export interface EventFields {
  instanceId?: string | null;
  callId?: string | null;
  requestId?: string | null;
  callerKeyId?: string | null;
  callerName?: string | null;
  appAlias?: string | null;
  method?: string | null;
  route?: string | null;
  endUser?: string | null;
  status?: number | null;
  upstreamStatus?: number | null;
  outcome?: Outcome | null;
  errorCode?: string | null;
  latencyMs?: number | null;
  attempts?: number | null;
  conversationId?: string | null;
  messageId?: string | null;
  taskId?: string | null;
  workflowRunId?: string | null;
  totalTokens?: number | null;
  totalPrice?: string | null;
  currency?: string | null;
  promptText?: string | null;
  answerText?: string | null;
  details?: Details | null;
}

/** An event before it is linked into the chain. */
export interface EventDraft extends EventFields {
  /** A UUID chosen by the writer; appending the same id twice stores it once. */
  id: string;
  type: EventType;
}

/** The columns every stored event has, optional fields as explicit nulls. */
export type EventBody = { id: string; type: EventType } & { [K in keyof EventFields]-?: Exclude<EventFields[K], undefined> };

/**
 * A recorded event, not sealed yet: its body in the inbox with the database time it was received.
 * It has no place in the chain until the sequencer seals it.
 */
export interface RecordedEvent extends EventBody {
  receivedAt: Date;
}

/** A sealed event: its body plus its place in the chain. */
export interface StoredEvent extends EventBody {
  seq: number;
  /** When it was sealed (database clock), non-decreasing along `seq`. */
  recordedAt: Date;
  /** When it was recorded (the write-ahead); null on events sealed before the inbox existed. */
  receivedAt: Date | null;
  prevHash: string;
  hash: string;
  keyId: string | null;
  signature: string | null;
}

/** A recorded event shaped like a sealed one, for reads that list both: no place in the chain yet. */
export interface UnsealedEvent extends RecordedEvent {
  seq: null;
  recordedAt: null;
  prevHash: null;
  hash: null;
  keyId: null;
  signature: null;
  /** Its place in the inbox (the order it was recorded in; the order it will be sealed in). */
  pendingNo: number;
}

/** What reads return: sealed events and, where asked for, unsealed ones. */
export type AuditRow = StoredEvent | UnsealedEvent;

/** The field names of `EventFields`, in a fixed order (canonical form, columns, CSV). */
export const FIELD_NAMES = [
  'instanceId',
  'callId',
  'requestId',
  'callerKeyId',
  'callerName',
  'appAlias',
  'method',
  'route',
  'endUser',
  'status',
  'upstreamStatus',
  'outcome',
  'errorCode',
  'latencyMs',
  'attempts',
  'conversationId',
  'messageId',
  'taskId',
  'workflowRunId',
  'totalTokens',
  'totalPrice',
  'currency',
  'promptText',
  'answerText',
  'details',
] as const satisfies readonly (keyof EventFields)[];

/** A signed statement "the chain's row `seq` has hash `hash`", stored beside the chain. */
export interface Checkpoint {
  id: string;
  seq: number;
  hash: string;
  /** `periodic` (timer, shutdown) or `anchor` (written by retention: the chain now starts after `seq`). */
  kind: 'periodic' | 'anchor';
  createdAt: Date;
  keyId: string | null;
  signature: string | null;
}

/** The chain's last row (or the retention anchor when every row was purged). */
export interface ChainHead {
  seq: number;
  hash: string;
  recordedAt: Date | null;
}
