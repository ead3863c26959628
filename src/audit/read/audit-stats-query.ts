import { Prisma } from '../../generated/prisma/client.js';
import { planStats, type PartialDay, type Span, type StatsPiece } from './audit-stats-plan.js';

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

const at = (t: number) => Prisma.sql`${new Date(t).toISOString()}::timestamptz`;

function spanOn(column: Prisma.Sql, [a, b]: Span): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (Number.isFinite(a)) parts.push(Prisma.sql`${column} >= ${at(a)}`);
  if (Number.isFinite(b)) parts.push(Prisma.sql`${column} < ${at(b)}`);
  return parts.length ? Prisma.join(parts, ' AND ') : Prisma.sql`true`;
}

const SUMS = ['calls', 'errors', 'tokens', 'priced', 'cost'] as const;

/** The rows of one piece of the plan, in the rollup's shape (its sums negated when it is taken away). */
function pieceSql({ source, span, sign }: StatsPiece, day: Prisma.Sql, same: Prisma.Sql): Prisma.Sql {
  const neg = sign < 0 ? '-' : '';
  if (source === 'events') {
    return Prisma.sql`
    SELECT ${day} AS day, caller_key_id, caller_name, app_alias, currency, ${Prisma.raw(neg)}1::bigint AS calls,
           ${Prisma.raw(neg)}(outcome IS DISTINCT FROM 'success')::int::bigint AS errors, ${Prisma.raw(neg)}coalesce(total_tokens, 0)::bigint AS tokens,
           ${Prisma.raw(neg)}(total_price IS NOT NULL)::int::bigint AS priced, ${Prisma.raw(neg)}total_price::numeric AS cost
      FROM audit_events WHERE type = 'call.finished' AND ${spanOn(Prisma.sql`recorded_at`, span)} ${same}`;
  }
  const table = Prisma.raw(source === 'day' ? 'audit_stats_daily' : 'audit_stats_hourly');
  return Prisma.sql`
    SELECT ${day} AS day, caller_key_id, caller_name, app_alias, currency, ${Prisma.raw(SUMS.map((c) => `${neg}${c} AS ${c}`).join(', '))}
      FROM ${table} WHERE ${spanOn(Prisma.sql`bucket`, span)} AND calls > 0 ${same}`;
}

/**
 * A part of a day: its pieces' rows, netted per rollup group first when some are taken away (so
 * that a group or a caller name whose calls all fall outside the window is gone, as in a scan).
 */
function partialDaySql({ day, pieces }: PartialDay, same: Prisma.Sql): Prisma.Sql {
  const rows = Prisma.join(
    pieces.map((p) => pieceSql(p, at(day), same)),
    ' UNION ALL ',
  );
  if (pieces.every((p) => p.sign > 0)) return rows;
  return Prisma.sql`
    SELECT ${at(day)} AS day, caller_key_id, caller_name, app_alias, currency, sum(calls)::bigint AS calls, sum(errors)::bigint AS errors,
           sum(tokens)::bigint AS tokens, sum(priced)::bigint AS priced, sum(cost) AS cost
      FROM (${rows}) AS pieces
     GROUP BY caller_key_id, caller_name, app_alias, currency HAVING sum(calls) > 0`;
}

/**
 * The statistics statement: the rollup's rows and the edge events brought to one shape, then
 * grouped as a scan of the whole log would be. Days are grouped as the bucket's timestamp and
 * callers as uuids, turned into text once per output row. Each group's cost comes back as
 * `currency amount` strings (summed per currency by `toStatsRow`; see `costsOf`).
 */
export function statsSql(filter: StatsFilter, groupBy: readonly StatsDimension[]): Prisma.Sql | null {
  const plan = planStats(filter.from?.getTime() ?? -Infinity, filter.to?.getTime() ?? Infinity);
  if (!plan) return null;
  const by = new Set(groupBy);
  const conditions: Prisma.Sql[] = [];
  if (filter.callerKeyId !== undefined) conditions.push(Prisma.sql`caller_key_id = ${filter.callerKeyId}::uuid`);
  if (filter.appAlias !== undefined) conditions.push(Prisma.sql`app_alias = ${filter.appAlias}`);
  const same = and(conditions);
  const parts = Prisma.join(
    [
      ...(plan.days ? [pieceSql({ source: 'day', span: plan.days, sign: 1 }, Prisma.sql`bucket`, same)] : []),
      ...plan.partial.map((p) => partialDaySql(p, same)),
    ],
    ' UNION ALL ',
  );
  const day = by.has('day') ? Prisma.sql`day` : Prisma.sql`NULL::timestamptz`;
  const caller = by.has('caller') ? Prisma.sql`caller_key_id` : Prisma.sql`NULL::uuid`;
  const app = by.has('app') ? Prisma.sql`app_alias` : Prisma.sql`NULL::text`;
  const output = Prisma.sql`to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, caller_key_id::text AS caller_key_id, max(caller_name) AS caller_name, app,
           sum(calls)::int AS calls, sum(errors)::int AS errors, sum(tokens)::bigint AS tokens`;
  const order = Prisma.sql`GROUP BY g.day, g.caller_key_id, g.app ORDER BY g.day NULLS FIRST, g.caller_key_id NULLS FIRST, g.app NULLS FIRST`;
  if (by.size === 3) {
    // By day, caller and app, the rollup's own grain: its rows are nearly the groups already (one
    // per currency, and per name of a renamed key), so one aggregation; a currency met twice in
    // a group is summed in toStatsRow.
    return Prisma.sql`
    SELECT ${output}, array_agg(currency || ' ' || cost::text) FILTER (WHERE priced > 0 AND currency IS NOT NULL) AS costs
      FROM (SELECT ${day} AS day, ${caller} AS caller_key_id, caller_name, ${app} AS app, currency, calls, errors, tokens, priced, cost FROM (${parts}) AS parts) AS g
     ${order}`;
  }
  // Coarser groups take many rollup rows each: their cost is summed per currency first.
  return Prisma.sql`
    WITH per_currency AS (
      SELECT ${day} AS day, ${caller} AS caller_key_id, max(caller_name) AS caller_name, ${app} AS app, currency,
             sum(calls) AS calls, sum(errors) AS errors, sum(tokens) AS tokens, CASE WHEN sum(priced) > 0 THEN sum(cost) END AS cost
        FROM (${parts}) AS parts
       GROUP BY 1, 2, 4, 5
    )
    SELECT ${output}, array_agg(currency || ' ' || cost::text) FILTER (WHERE currency IS NOT NULL AND cost IS NOT NULL) AS costs
      FROM per_currency AS g
     ${order}`;
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
  /** `currency amount`, a currency possibly more than once. */
  costs: string[] | null;
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
    cost: costsOf(r.costs ?? []),
  };
}

/** `['USD 1.50', 'EUR 2', 'USD 0.25']` -> `{ EUR: '2', USD: '1.75' }`: summed exactly, keys in jsonb's order (shorter first), amounts trimmed. */
export function costsOf(costs: readonly string[]): Record<string, string> {
  const sums = new Map<string, string>();
  for (const entry of costs) {
    const cut = entry.lastIndexOf(' ');
    const [currency, amount] = [entry.slice(0, cut), entry.slice(cut + 1)];
    const before = sums.get(currency);
    sums.set(currency, before === undefined ? amount : addDecimals(before, amount));
  }
  const keys = [...sums.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, trimDecimal(sums.get(k)!)]));
}

/** Exact sum of two of PostgreSQL's numeric texts (`-12.5`, `3`, `0.0012`). */
function addDecimals(a: string, b: string): string {
  const parts = (v: string) => {
    const [whole, fraction = ''] = v.replace(/^-/, '').split('.');
    return { negative: v.startsWith('-'), whole, fraction };
  };
  const [x, y] = [parts(a), parts(b)];
  const scale = Math.max(x.fraction.length, y.fraction.length);
  const scaled = (p: ReturnType<typeof parts>) => (p.negative ? -1n : 1n) * BigInt(p.whole + p.fraction.padEnd(scale, '0'));
  const sum = scaled(x) + scaled(y);
  const digits = (sum < 0n ? -sum : sum).toString().padStart(scale + 1, '0');
  return `${sum < 0n ? '-' : ''}${scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits}`;
}

/** `12.3400000000` -> `12.34`, `5.000` -> `5`. */
function trimDecimal(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}
