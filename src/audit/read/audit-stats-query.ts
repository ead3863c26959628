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

/** A group's place in the answer's order (day, then caller, then app, nulls first): a page starts just after it. */
export interface StatsKey {
  /** `YYYY-MM-DD`, as the answer gives it. */
  day: string | null;
  callerKeyId: string | null;
  appAlias: string | null;
}

export interface StatsPageOptions {
  /** At most this many groups (every group when absent). */
  limit?: number;
  /** Only the groups after this one. */
  after?: StatsKey;
}

/** The conditions a piece's rows must meet; `day` is the piece's day (its bucket, or the constant day of a partial day). */
type Where = (day: Prisma.Sql) => Prisma.Sql;

/** The rows of one piece of the plan, in the rollup's shape (its sums negated when it is taken away). */
function pieceSql({ source, span, sign }: StatsPiece, day: Prisma.Sql, where: Where): Prisma.Sql {
  const neg = sign < 0 ? '-' : '';
  if (source === 'events') {
    return Prisma.sql`
    SELECT ${day} AS day, caller_key_id, caller_name, app_alias, currency, ${Prisma.raw(neg)}1::bigint AS calls,
           ${Prisma.raw(neg)}(outcome IS DISTINCT FROM 'success')::int::bigint AS errors, ${Prisma.raw(neg)}coalesce(total_tokens, 0)::bigint AS tokens,
           ${Prisma.raw(neg)}(total_price IS NOT NULL)::int::bigint AS priced, ${Prisma.raw(neg)}total_price::numeric AS cost
      FROM audit_events WHERE type = 'call.finished' AND ${spanOn(Prisma.sql`recorded_at`, span)} ${where(day)}`;
  }
  const table = Prisma.raw(source === 'day' ? 'audit_stats_daily' : 'audit_stats_hourly');
  return Prisma.sql`
    SELECT ${day} AS day, caller_key_id, caller_name, app_alias, currency, ${Prisma.raw(SUMS.map((c) => `${neg}${c} AS ${c}`).join(', '))}
      FROM ${table} WHERE ${spanOn(Prisma.sql`bucket`, span)} AND calls > 0 ${where(day)}`;
}

/**
 * A part of a day: its pieces' rows, netted per rollup group first when some are taken away (so
 * that a group or a caller name whose calls all fall outside the window is gone, as in a scan).
 */
function partialDaySql({ day, pieces }: PartialDay, where: Where): Prisma.Sql {
  const rows = Prisma.join(
    pieces.map((p) => pieceSql(p, at(day), where)),
    ' UNION ALL ',
  );
  if (pieces.every((p) => p.sign > 0)) return rows;
  return Prisma.sql`
    SELECT ${at(day)} AS day, caller_key_id, caller_name, app_alias, currency, sum(calls)::bigint AS calls, sum(errors)::bigint AS errors,
           sum(tokens)::bigint AS tokens, sum(priced)::bigint AS priced, sum(cost) AS cost
      FROM (${rows}) AS pieces
     GROUP BY caller_key_id, caller_name, app_alias, currency HAVING sum(calls) > 0`;
}

const ORDER = Prisma.sql`ORDER BY g.day NULLS FIRST, g.caller_key_id NULLS FIRST, g.app NULLS FIRST`;

/** The groups of `parts` (rows in the rollup's shape), in the answer's order, each with its costs as `currency amount` strings. */
function groupedSql(parts: Prisma.Sql, by: ReadonlySet<StatsDimension>, limit: Prisma.Sql): Prisma.Sql {
  const day = by.has('day') ? Prisma.sql`day` : Prisma.sql`NULL::timestamptz`;
  const caller = by.has('caller') ? Prisma.sql`caller_key_id` : Prisma.sql`NULL::uuid`;
  const app = by.has('app') ? Prisma.sql`app_alias` : Prisma.sql`NULL::text`;
  const output = Prisma.sql`to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, caller_key_id::text AS caller_key_id, max(caller_name) AS caller_name, app,
           sum(calls)::int AS calls, sum(errors)::int AS errors, sum(tokens)::bigint AS tokens`;
  const group = Prisma.sql`GROUP BY g.day, g.caller_key_id, g.app ${ORDER} ${limit}`;
  if (by.size === 3) {
    // By day, caller and app, the rollup's own grain: its rows are nearly the groups already (one
    // per currency, and per name of a renamed key), so one aggregation; a currency met twice in
    // a group is summed in toStatsRow.
    return Prisma.sql`
    SELECT ${output}, array_agg(currency || ' ' || cost::text) FILTER (WHERE priced > 0 AND currency IS NOT NULL) AS costs
      FROM (SELECT ${day} AS day, ${caller} AS caller_key_id, caller_name, ${app} AS app, currency, calls, errors, tokens, priced, cost FROM (${parts}) AS parts) AS g
     ${group}`;
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
     ${group}`;
}

/**
 * `(day, caller, app) > after` in the answer's order (nulls first), on a piece's own columns: a
 * group's key is its rows' columns, so filtering rows is filtering groups. Only the grouped
 * dimensions count; with none there is one group, and nothing after it.
 */
function afterSql(after: StatsKey, by: ReadonlySet<StatsDimension>, day: Prisma.Sql): Prisma.Sql {
  const keys: [Prisma.Sql, Prisma.Sql | null][] = [];
  const dayOf = (d: string) => at(Date.parse(`${d}T00:00:00Z`));
  if (by.has('day')) keys.push([day, after.day === null ? null : dayOf(after.day)]);
  if (by.has('caller')) keys.push([Prisma.sql`caller_key_id`, after.callerKeyId === null ? null : Prisma.sql`${after.callerKeyId}::uuid`]);
  if (by.has('app')) keys.push([Prisma.sql`app_alias`, after.appAlias === null ? null : Prisma.sql`${after.appAlias}`]);
  if (keys.length === 0) return Prisma.sql`AND false`;
  const equal = ([column, v]: (typeof keys)[number]) => (v === null ? Prisma.sql`${column} IS NULL` : Prisma.sql`${column} = ${v}`);
  const greater = ([column, v]: (typeof keys)[number]) => (v === null ? Prisma.sql`${column} IS NOT NULL` : Prisma.sql`${column} > ${v}`);
  const branches = keys.map((key, i) => Prisma.join([...keys.slice(0, i).map(equal), greater(key)], ' AND '));
  // The day's lower bound said on its own as well, so that the day rows' index starts there.
  const from = by.has('day') && after.day !== null ? Prisma.sql`AND ${day} >= ${dayOf(after.day)}` : Prisma.empty;
  return Prisma.sql`${from} AND (${Prisma.join(branches, ' OR ')})`;
}

/**
 * The statistics statement: the rollup's rows and the edge events brought to one shape, then
 * grouped as a scan of the whole log would be. Days are grouped as the bucket's timestamp and
 * callers as uuids, turned into text once per output row. Each group's cost comes back as
 * `currency amount` strings (summed per currency by `toStatsRow`; see `costsOf`).
 *
 * A page (`limit`, `after`) by day reads no more than it answers: the whole days, the cut day
 * before them and the one after hold different days, hence different groups, so each is grouped
 * on its own, in order and limited, and the whole days stream from the day rows' index
 * `(bucket, caller_key_id, app_alias)` that has the answer's order. Other groupings add up
 * every day of the window before the first group is known.
 */
export function statsSql(filter: StatsFilter, groupBy: readonly StatsDimension[], page: StatsPageOptions = {}): Prisma.Sql | null {
  const plan = planStats(filter.from?.getTime() ?? -Infinity, filter.to?.getTime() ?? Infinity);
  if (!plan) return null;
  const by = new Set(groupBy);
  const conditions: Prisma.Sql[] = [];
  if (filter.callerKeyId !== undefined) conditions.push(Prisma.sql`caller_key_id = ${filter.callerKeyId}::uuid`);
  if (filter.appAlias !== undefined) conditions.push(Prisma.sql`app_alias = ${filter.appAlias}`);
  const same = and(conditions);
  const where: Where = page.after ? (day) => Prisma.sql`${same} ${afterSql(page.after!, by, day)}` : () => same;
  if (page.limit !== undefined && !(Number.isSafeInteger(page.limit) && page.limit > 0)) throw new RangeError('limit must be a positive integer');
  const limit = page.limit === undefined ? Prisma.empty : Prisma.raw(`LIMIT ${page.limit}`);
  const segments = [
    ...(plan.days ? [{ day: plan.days[0], sql: pieceSql({ source: 'day', span: plan.days, sign: 1 }, Prisma.sql`bucket`, where) }] : []),
    ...plan.partial.map((p) => ({ day: p.day, sql: partialDaySql(p, where) })),
  ].sort((a, b) => a.day - b.day);
  if (!by.has('day') || segments.length === 1) {
    return groupedSql(
      Prisma.join(
        segments.map((s) => s.sql),
        ' UNION ALL ',
      ),
      by,
      limit,
    );
  }
  const pages = Prisma.join(
    segments.map((s) => Prisma.sql`(${groupedSql(s.sql, by, limit)})`),
    ' UNION ALL ',
  );
  return Prisma.sql`SELECT * FROM (${pages}) AS g ORDER BY g.day, g.caller_key_id::uuid NULLS FIRST, g.app NULLS FIRST ${limit}`;
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
