import { FIELD_NAMES, type Details, type EventBody, type EventType, type Outcome, type RecordedEvent, type UnsealedEvent } from '../audit-event.js';

/** SQL pieces shared by the audit repositories: column names and raw rows mapped to events. Free of Prisma (the sealing thread loads it). */

export function columnOf(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A raw row (snake_case columns) of `audit_pending` or `audit_events`. */
export type RawEventRow = Record<string, unknown>;

/** Each field's column name, computed once (sealing maps thousands of rows a second). */
const FIELD_COLUMNS = FIELD_NAMES.map((name) => [name, columnOf(name)] as const);

/** The body of a raw row. */
export function bodyOfRow(r: RawEventRow): EventBody {
  const body: Record<string, unknown> = { id: String(r.id), type: r.type as EventType };
  for (const [name, column] of FIELD_COLUMNS) {
    const value = r[column];
    body[name] = value === undefined ? null : value;
  }
  if (typeof body.details === 'string') body.details = JSON.parse(body.details) as Details;
  if (body.outcome !== null) body.outcome = body.outcome as Outcome;
  return body as EventBody;
}

/** A raw `audit_pending` row as a recorded event, built in place (the sequencer's hot path: one object per row). */
export function recordedEventOfRow(r: RawEventRow): RecordedEvent {
  const event = bodyOfRow(r) as RecordedEvent;
  event.receivedAt = new Date(r.received_at as Date | string);
  return event;
}

/** A raw `audit_pending` row as a recorded event (its `pending_no` stays out of the body). */
export function recordedOfRow(r: RawEventRow): RecordedEvent & { pendingNo: number } {
  return { ...bodyOfRow(r), receivedAt: new Date(r.received_at as Date | string), pendingNo: Number(r.pending_no) };
}

export function unsealedOfRow(r: RawEventRow): UnsealedEvent {
  return { ...recordedOfRow(r), seq: null, recordedAt: null, prevHash: null, hash: null, keyId: null, signature: null };
}
