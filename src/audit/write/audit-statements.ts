import { FIELD_NAMES, type EventBody, type StoredEvent } from '../audit-event.js';
import { columnOf } from './audit-sql.js';

/**
 * The write-ahead's and the sequencer's statements, as bare SQL text (run on `RawSql`: a `pg`
 * pool, or PGlite's query API). Rows travel as one JSON parameter expanded by
 * `json_populate_recordset`: one native `JSON.stringify` on our side and no per-column casts,
 * measured faster than 25 typed arrays (which `pg` serializes value by value in JS).
 */

const BODY_COLUMN_NAMES = ['id', 'type', ...FIELD_NAMES.map(columnOf)];
const BODY_KEYS = ['id', 'type', ...FIELD_NAMES] as const;
const BODY_LIST = BODY_COLUMN_NAMES.join(', ');
const CHAIN_LIST = `${BODY_LIST}, seq, recorded_at, received_at, prev_hash, hash, key_id, signature`;

/** $1: the bodies as JSON (see `bodiesJson`). Skips ids already in the inbox (a retried batch). */
export const RECORD_SQL = `
  INSERT INTO audit_pending (${BODY_LIST}) SELECT ${BODY_LIST} FROM json_populate_recordset(NULL::audit_pending, $1::json)
  ON CONFLICT (id) DO NOTHING RETURNING id::text AS id, received_at`;

/**
 * $1: the batch size. Moves the oldest inbox rows out, in the order they were recorded, each
 * with whether its id is already sealed (a retried write whose first attempt committed and was
 * sealed): one index probe per row in the same statement, not a second round trip.
 */
export const TAKE_PENDING_SQL = `
  WITH batch AS (SELECT pending_no FROM audit_pending ORDER BY pending_no LIMIT $1),
  moved AS (DELETE FROM audit_pending p USING batch WHERE p.pending_no = batch.pending_no RETURNING p.*)
  SELECT m.*, EXISTS (SELECT 1 FROM audit_events e WHERE e.id = m.id) AS already_sealed FROM moved m ORDER BY m.pending_no`;

/** $1: the linked events as JSON (see `sealedJson`). */
export const INSERT_SEALED_SQL = `
  INSERT INTO audit_events (${CHAIN_LIST}) SELECT ${CHAIN_LIST} FROM json_populate_recordset(NULL::audit_events, $1::json)`;

function bodyRow(e: EventBody): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < BODY_KEYS.length; i++) row[BODY_COLUMN_NAMES[i]] = (e as unknown as Record<string, unknown>)[BODY_KEYS[i]];
  return row;
}

export function bodiesJson(bodies: readonly EventBody[]): string {
  return JSON.stringify(bodies.map(bodyRow));
}

export function sealedJson(events: readonly StoredEvent[]): string {
  return JSON.stringify(
    events.map((e) => {
      const row = bodyRow(e);
      row.seq = e.seq;
      row.recorded_at = e.recordedAt;
      row.received_at = e.receivedAt;
      row.prev_hash = e.prevHash;
      row.hash = e.hash;
      row.key_id = e.keyId;
      row.signature = e.signature;
      return row;
    }),
  );
}
