/**
 * The statistics rollup (see its migration): per UTC day (`audit_stats_daily`) and per UTC hour
 * (`audit_stats_hourly`), per caller key, caller name, app and currency, what `/audit/stats`
 * sums over sealed `call.finished` events. It changes only in the statements that change
 * `audit_events`: the seal inserts a batch and adds it, retention deletes events and subtracts
 * them, each in one statement, so the rollup cannot drift from the log by a crash in between.
 * Two tables rather than one with a grain column: a day query then reads a small, dense table.
 */

export type Grain = 'day' | 'hour';
export const ROLLUP_TABLES: Record<Grain, string> = { day: 'audit_stats_daily', hour: 'audit_stats_hourly' };

/** The columns a rollup is computed from (what the seal's and the purge's RETURNING give back). */
export const ROLLUP_SOURCE_COLUMNS = 'type, recorded_at, caller_key_id, caller_name, app_alias, currency, outcome, total_tokens, total_price';

/** Groups `source` (a relation with `ROLLUP_SOURCE_COLUMNS`) into rollup rows of one grain. */
export function rollupOf(source: string, grain: Grain): string {
  return `
    SELECT date_trunc('${grain}', s.recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
           json_build_array(s.caller_key_id, s.caller_name, s.app_alias, s.currency)::text AS dims,
           s.caller_key_id, s.caller_name, s.app_alias, s.currency,
           count(*) AS calls, count(*) FILTER (WHERE s.outcome IS DISTINCT FROM 'success') AS errors,
           coalesce(sum(s.total_tokens), 0) AS tokens, count(s.total_price) AS priced, sum(s.total_price::numeric) AS cost
      FROM ${source} s
     WHERE s.type = 'call.finished'
     GROUP BY 1, s.caller_key_id, s.caller_name, s.app_alias, s.currency`;
}

const ROLLUP_COLUMNS = 'bucket, dims, caller_key_id, caller_name, app_alias, currency, calls, errors, tokens, priced, cost';

/** Adds the rollup of `source` to the table of `grain`. */
export function addToRollup(source: string, grain: Grain): string {
  const t = ROLLUP_TABLES[grain];
  return `
    INSERT INTO ${t} (${ROLLUP_COLUMNS}) SELECT ${ROLLUP_COLUMNS} FROM (${rollupOf(source, grain)}) AS r
    ON CONFLICT (bucket, dims) DO UPDATE SET
      calls = ${t}.calls + excluded.calls, errors = ${t}.errors + excluded.errors, tokens = ${t}.tokens + excluded.tokens,
      priced = ${t}.priced + excluded.priced, cost = coalesce(${t}.cost + excluded.cost, ${t}.cost, excluded.cost)`;
}

function subtract(grain: Grain): string {
  const t = ROLLUP_TABLES[grain];
  return `
    UPDATE ${t} a SET calls = a.calls - r.calls, errors = a.errors - r.errors, tokens = a.tokens - r.tokens,
           priced = a.priced - r.priced, cost = CASE WHEN r.cost IS NULL THEN a.cost ELSE a.cost - r.cost END
      FROM (${rollupOf('gone', grain)}) r WHERE a.bucket = r.bucket AND a.dims = r.dims`;
}

/**
 * Retention: $1 the last seq to delete. Deletes the events and subtracts them from the rollup in
 * one statement; returns how many events it deleted. Rows left at zero calls are removed by
 * `DROP_EMPTY_ROLLUP_SQL` (readers skip them meanwhile).
 */
export const PURGE_EVENTS_SQL = `
  WITH gone AS (DELETE FROM audit_events WHERE seq <= $1::bigint RETURNING ${ROLLUP_SOURCE_COLUMNS}),
  daily AS (${subtract('day')}), hourly AS (${subtract('hour')})
  SELECT count(*)::int AS n FROM gone`;

/** After a purge ($1: the time of the last event deleted): the rollup rows no event backs any more. */
export const DROP_EMPTY_ROLLUP_SQL = (['day', 'hour'] as const).map((g) => `DELETE FROM ${ROLLUP_TABLES[g]} WHERE calls <= 0 AND bucket <= $1::timestamptz`);

/** Adds every sealed event to the rollup (the migration's backfill, on an empty rollup; also the bench's, after a bulk load). */
export const BACKFILL_ROLLUP_SQL = (['day', 'hour'] as const).map((g) => addToRollup('audit_events', g));
