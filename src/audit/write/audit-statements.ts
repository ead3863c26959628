import { FIELD_NAMES, type EventBody, type StoredEvent } from '../audit-event.js';
import { columnOf } from './audit-sql.js';
import type { OwnerRow } from './owner-riders.js';
import { addToRollup, ROLLUP_SOURCE_COLUMNS } from './audit-stats-sql.js';

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

const OWNER_INSERT = (first: number) => `
  INSERT INTO dify_resource_owners (app_alias, kind, resource_id, namespace)
  SELECT * FROM unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[])
  ON CONFLICT DO NOTHING`;

/** $1..$4: app aliases, kinds, resource ids, namespaces (`ownerArrays`). An id that has an owner keeps it. */
export const RECORD_OWNERS_SQL = OWNER_INSERT(1);

/** RECORD_SQL, with owner rows ($2..$5) inserted by the same statement: one round trip, one commit. */
export const RECORD_WITH_OWNERS_SQL = `WITH owners AS (${OWNER_INSERT(2)})${RECORD_SQL}`;

export function ownerArrays(owners: readonly OwnerRow[]): string[][] {
  return [owners.map((o) => o.appAlias), owners.map((o) => o.kind), owners.map((o) => o.resourceId), owners.map((o) => o.namespace)];
}

/**
 * $1: the batch size; $2: pending numbers to leave out (the batch being sealed right now). The
 * oldest inbox rows, in the order they were recorded, each with whether its id is already
 * sealed (a retried write whose first attempt committed and was sealed: one index probe per row
 * in the same statement, not a second round trip), and the database clock.
 * The probe is a LATERAL subquery, not `EXISTS`: the planner may answer an `EXISTS` with a
 * hashed subplan, a scan of the whole of `audit_events` on every round (seen: 110-140 ms a round
 * at 177,000 events, growing with the log, when the inbox's statistics were stale).
 */
export const READ_PENDING_SQL = `
  SELECT p.*, s.sealed IS NOT NULL AS already_sealed, date_trunc('milliseconds', clock_timestamp()) AS now
    FROM (SELECT * FROM audit_pending WHERE NOT (pending_no = ANY($2::bigint[])) ORDER BY pending_no LIMIT $1) AS p
    LEFT JOIN LATERAL (SELECT true AS sealed FROM audit_events e WHERE e.id = p.id LIMIT 1) AS s ON true
   ORDER BY p.pending_no`;

/** $1: the pending numbers of a batch being sealed. Returns how many rows it deleted. */
export const DELETE_TAKEN_SQL = `
  WITH taken AS (DELETE FROM audit_pending WHERE pending_no = ANY($1::bigint[]) RETURNING 1) SELECT count(*)::int AS n FROM taken`;

/**
 * $1: the linked events as JSON (see `sealedJson`). Inserts them and adds the finished calls to
 * the statistics rollup in the same statement: the rollup counts exactly the sealed events.
 */
export const INSERT_SEALED_SQL = `
  WITH sealed AS (
    INSERT INTO audit_events (${CHAIN_LIST}) SELECT ${CHAIN_LIST} FROM json_populate_recordset(NULL::audit_events, $1::json)
    RETURNING ${ROLLUP_SOURCE_COLUMNS}),
  daily AS (${addToRollup('sealed', 'day')})
  ${addToRollup('sealed', 'hour')}`;

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
