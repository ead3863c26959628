/**
 * The statistics rollup `audit_stats` (see its migration): per UTC day and per UTC hour, per
 * caller key, caller name, app and currency, what `/audit/stats` sums over sealed
 * `call.finished` events. It changes only in the statements that change `audit_events`: the
 * seal inserts a batch and adds it, retention deletes events and subtracts them, each in one
 * statement, so the rollup cannot drift from the log by a crash between two statements.
 */

/** The columns a rollup is computed from (what the seal's and the purge's RETURNING give back). */
export const ROLLUP_SOURCE_COLUMNS = 'type, recorded_at, caller_key_id, caller_name, app_alias, currency, outcome, total_tokens, total_price';

/** Groups `source` (a relation with `ROLLUP_SOURCE_COLUMNS`) into rollup rows, both grains. */
export function rollupOf(source: string): string {
  return `
    SELECT g.grain, date_trunc(g.grain, s.recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
           json_build_array(s.caller_key_id, s.caller_name, s.app_alias, s.currency)::text AS dims,
           s.caller_key_id, s.caller_name, s.app_alias, s.currency,
           count(*) AS calls, count(*) FILTER (WHERE s.outcome IS DISTINCT FROM 'success') AS errors,
           coalesce(sum(s.total_tokens), 0) AS tokens, count(s.total_price) AS priced, sum(s.total_price::numeric) AS cost
      FROM ${source} s CROSS JOIN (VALUES ('day'), ('hour')) AS g(grain)
     WHERE s.type = 'call.finished'
     GROUP BY g.grain, 2, s.caller_key_id, s.caller_name, s.app_alias, s.currency`;
}

const ROLLUP_COLUMNS = 'grain, bucket, dims, caller_key_id, caller_name, app_alias, currency, calls, errors, tokens, priced, cost';

/** Adds rollup rows (from `rollupOf`) to the table. */
export function addToRollup(rows: string): string {
  return `
    INSERT INTO audit_stats (${ROLLUP_COLUMNS}) SELECT ${ROLLUP_COLUMNS} FROM ${rows} AS r
    ON CONFLICT (grain, bucket, dims) DO UPDATE SET
      calls = audit_stats.calls + excluded.calls, errors = audit_stats.errors + excluded.errors, tokens = audit_stats.tokens + excluded.tokens,
      priced = audit_stats.priced + excluded.priced, cost = coalesce(audit_stats.cost + excluded.cost, audit_stats.cost, excluded.cost)`;
}

/**
 * Retention: $1 the last seq to delete. Deletes the events and subtracts them from the rollup in
 * one statement; returns how many events it deleted. Rows left at zero calls are removed by
 * `DROP_EMPTY_ROLLUP_SQL` (readers skip them meanwhile).
 */
export const PURGE_EVENTS_SQL = `
  WITH gone AS (DELETE FROM audit_events WHERE seq <= $1::bigint RETURNING ${ROLLUP_SOURCE_COLUMNS}),
  rolled AS (${rollupOf('gone')}),
  subtracted AS (
    UPDATE audit_stats a SET calls = a.calls - r.calls, errors = a.errors - r.errors, tokens = a.tokens - r.tokens,
           priced = a.priced - r.priced, cost = CASE WHEN r.cost IS NULL THEN a.cost ELSE a.cost - r.cost END
      FROM rolled r WHERE a.grain = r.grain AND a.bucket = r.bucket AND a.dims = r.dims
    RETURNING 1)
  SELECT (SELECT count(*) FROM gone)::int AS n, (SELECT count(*) FROM subtracted)::int AS groups`;

/** After a purge: the rollup rows that no event backs any more (only old buckets can have any). */
export const DROP_EMPTY_ROLLUP_SQL = `DELETE FROM audit_stats WHERE calls <= 0 AND grain IN ('day', 'hour') AND bucket <= $1::timestamptz`;

/** Adds every sealed event to the rollup (the migration's backfill, on an empty rollup; also the bench's, after a bulk load). */
export const BACKFILL_ROLLUP_SQL = addToRollup(`(${rollupOf('audit_events')})`);
