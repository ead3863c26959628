import { Prisma } from '../../generated/prisma/client.js';

export type StatsDimension = 'day' | 'caller' | 'app';

export interface StatsRow {
  day: string | null;
  callerKeyId: string | null;
  callerName: string | null;
  appAlias: string | null;
  calls: number;
  errors: number;
  totalTokens: number;
  /** Summed price per currency, as decimal strings. */
  cost: Record<string, string>;
}

/** What statistics are asked about: sealed `call.finished` events recorded in `[from, to)`. */
export interface StatsFilter {
  from?: Date;
  to?: Date;
  callerKeyId?: string;
  appAlias?: string;
}

/** A time span `[from, to)` in ms since the epoch (either end may be infinite). */
type Span = [number, number];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

/** Which parts of `[from, to)` are read from day rows, hour rows and the events themselves. */
export interface StatsPlan {
  days: Span | null;
  hours: Span[];
  events: Span[];
}

/**
 * Cuts `[from, to)` into whole UTC days (day rows), whole hours at either edge (hour rows) and
 * the partial hours left at the very edges (at most two, read from `audit_events`): a query
 * reads at most 30 days' rows, 46 hours' rows and two hours of events, whatever the window.
 */
export function planStats(from: number, to: number): StatsPlan | null {
  if (!(from < to)) return null;
  const plan: StatsPlan = { days: null, hours: [], events: [] };
  const d1 = Number.isFinite(from) ? ceilTo(from, DAY) : from;
  const d2 = Number.isFinite(to) ? floorTo(to, DAY) : to;
  const edges: Span[] = [];
  if (d1 < d2) {
    plan.days = [d1, d2];
    if (from < d1) edges.push([from, d1]);
    if (d2 < to) edges.push([d2, to]);
  } else edges.push([from, to]);
  for (const [a, b] of edges) {
    const h1 = ceilTo(a, HOUR);
    const h2 = floorTo(b, HOUR);
    if (h1 < h2) {
      plan.hours.push([h1, h2]);
      if (a < h1) plan.events.push([a, h1]);
      if (h2 < b) plan.events.push([h2, b]);
    } else plan.events.push([a, b]);
  }
  return plan;
}

const at = (t: number) => Prisma.sql`${new Date(t).toISOString()}::timestamptz`;

function spanOn(column: Prisma.Sql, [a, b]: Span): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (Number.isFinite(a)) parts.push(Prisma.sql`${column} >= ${at(a)}`);
  if (Number.isFinite(b)) parts.push(Prisma.sql`${column} < ${at(b)}`);
  return parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`true`;
}

/**
 * The statistics statement: the rollup's rows and the edge events brought to one shape, then the
 * same grouping as a scan of the whole log would do (per currency first, then per group).
 */
export function statsSql(filter: StatsFilter, groupBy: readonly StatsDimension[]): Prisma.Sql | null {
  const plan = planStats(filter.from?.getTime() ?? -Infinity, filter.to?.getTime() ?? Infinity);
  if (!plan) return null;
  const by = new Set(groupBy);
  // Grouped on the raw values (a timestamp, a uuid), turned into text once per output row.
  const day = by.has('day') ? Prisma.sql`date_trunc('day', at AT TIME ZONE 'UTC')` : Prisma.sql`NULL::timestamp`;
  const caller = by.has('caller') ? Prisma.sql`caller_key_id` : Prisma.sql`NULL::uuid`;
  const app = by.has('app') ? Prisma.sql`app_alias` : Prisma.sql`NULL::text`;
  const same: Prisma.Sql[] = [];
  if (filter.callerKeyId !== undefined) same.push(Prisma.sql`caller_key_id = ${filter.callerKeyId}::uuid`);
  if (filter.appAlias !== undefined) same.push(Prisma.sql`app_alias = ${filter.appAlias}`);
  const rollup = (table: 'audit_stats_daily' | 'audit_stats_hourly', span: Span) => Prisma.sql`
    SELECT bucket AS at, caller_key_id, caller_name, app_alias, currency, calls, errors, tokens, priced, cost FROM ${Prisma.raw(table)}
     WHERE ${spanOn(Prisma.sql`bucket`, span)} AND calls > 0 ${and(same)}`;
  const events = (span: Span) => Prisma.sql`
    SELECT recorded_at AS at, caller_key_id, caller_name, app_alias, currency, 1::bigint AS calls,
           (outcome IS DISTINCT FROM 'success')::int::bigint AS errors, coalesce(total_tokens, 0)::bigint AS tokens,
           (total_price IS NOT NULL)::int::bigint AS priced, total_price::numeric AS cost
      FROM audit_events WHERE type = 'call.finished' AND ${spanOn(Prisma.sql`recorded_at`, span)} ${and(same)}`;
  const parts = [
    ...(plan.days ? [rollup('audit_stats_daily', plan.days)] : []),
    ...plan.hours.map((s) => rollup('audit_stats_hourly', s)),
    ...plan.events.map(events),
  ];
  return Prisma.sql`
    WITH parts AS (${Prisma.join(parts, ' UNION ALL ')}),
    per_currency AS (
      SELECT ${day} AS day, ${caller} AS caller_key_id, max(caller_name) AS caller_name, ${app} AS app, currency,
             sum(calls) AS calls, sum(errors) AS errors, sum(tokens) AS tokens, CASE WHEN sum(priced) > 0 THEN sum(cost) END AS cost
        FROM parts
       GROUP BY 1, 2, 4, 5
    )
    SELECT to_char(day, 'YYYY-MM-DD') AS day, caller_key_id::text AS caller_key_id, max(caller_name) AS caller_name, app,
           sum(calls)::int AS calls, sum(errors)::int AS errors, sum(tokens)::bigint AS tokens,
           coalesce(jsonb_object_agg(currency, cost::text) FILTER (WHERE currency IS NOT NULL AND cost IS NOT NULL), '{}'::jsonb) AS cost
      FROM per_currency
     GROUP BY per_currency.day, per_currency.caller_key_id, app
     ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, app NULLS FIRST`;
}

function and(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length ? Prisma.sql`AND ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

export interface RawStatsRow {
  day: string | null;
  caller_key_id: string | null;
  caller_name: string | null;
  app: string | null;
  calls: number;
  errors: number;
  tokens: bigint;
  cost: Record<string, string>;
}

export function toStatsRow(r: RawStatsRow, groupBy: readonly StatsDimension[]): StatsRow {
  return {
    day: r.day,
    callerKeyId: r.caller_key_id,
    callerName: groupBy.includes('caller') ? r.caller_name : null,
    appAlias: r.app,
    calls: Number(r.calls),
    errors: Number(r.errors),
    totalTokens: Number(r.tokens),
    cost: Object.fromEntries(Object.entries(r.cost ?? {}).map(([currency, amount]) => [currency, trimDecimal(String(amount))])),
  };
}

/** `12.3400000000` -> `12.34`, `5.000` -> `5`. */
function trimDecimal(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}
