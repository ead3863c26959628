import type { AuditReadRepository, StatsDimension, StatsRow } from '../../src/audit/read/audit-read.repository.js';
import type { OpenDatabase } from '../../src/database/open-database.js';
import { Prisma } from '../../src/generated/prisma/client.js';

/**
 * `/audit/stats` as it was computed before the rollup: the window mapped to a seq range, then
 * one scan of `audit_events`. Tests compare the rollup's answers with it, row for row.
 */
export async function statsFromLog(
  db: Pick<OpenDatabase, 'client'>,
  read: AuditReadRepository,
  filter: { from?: Date; to?: Date; callerKeyId?: string; appAlias?: string },
  groupBy: readonly StatsDimension[],
): Promise<StatsRow[]> {
  const range = await read.seqRange(filter.from, filter.to);
  if (!range) return [];
  const by = new Set(groupBy);
  const day = by.has('day') ? Prisma.sql`to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')` : Prisma.sql`NULL::text`;
  const caller = by.has('caller') ? Prisma.sql`caller_key_id::text` : Prisma.sql`NULL::text`;
  const app = by.has('app') ? Prisma.sql`app_alias` : Prisma.sql`NULL::text`;
  const conditions = [Prisma.sql`type = 'call.finished'`];
  if (range.fromSeq !== undefined) conditions.push(Prisma.sql`seq >= ${range.fromSeq}::bigint`);
  if (range.toSeq !== undefined) conditions.push(Prisma.sql`seq <= ${range.toSeq}::bigint`);
  if (filter.callerKeyId !== undefined) conditions.push(Prisma.sql`caller_key_id = ${filter.callerKeyId}::uuid`);
  if (filter.appAlias !== undefined) conditions.push(Prisma.sql`app_alias = ${filter.appAlias}`);
  type Row = { day: string | null; caller_key_id: string | null; caller_name: string | null; app: string | null };
  const rows = await db.client.$queryRaw<(Row & { calls: number; errors: number; tokens: bigint; cost: Record<string, string> })[]>`
    WITH per_currency AS (
      SELECT ${day} AS day, ${caller} AS caller_key_id, max(caller_name) AS caller_name, ${app} AS app, currency,
             count(*) AS calls, count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success') AS errors,
             coalesce(sum(total_tokens), 0) AS tokens, sum(total_price::numeric) AS cost
        FROM audit_events
       WHERE ${Prisma.join(conditions, ' AND ')}
       GROUP BY 1, 2, 4, 5
    )
    SELECT day, caller_key_id, max(caller_name) AS caller_name, app,
           sum(calls)::int AS calls, sum(errors)::int AS errors, sum(tokens)::bigint AS tokens,
           coalesce(jsonb_object_agg(currency, cost::text) FILTER (WHERE currency IS NOT NULL AND cost IS NOT NULL), '{}'::jsonb) AS cost
      FROM per_currency
     GROUP BY day, caller_key_id, app
     ORDER BY day NULLS FIRST, caller_key_id NULLS FIRST, app NULLS FIRST`;
  const trim = (v: string) => (v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v);
  return rows.map((r) => ({
    day: r.day,
    callerKeyId: r.caller_key_id,
    callerName: by.has('caller') ? r.caller_name : null,
    appAlias: r.app,
    calls: Number(r.calls),
    errors: Number(r.errors),
    totalTokens: Number(r.tokens),
    cost: Object.fromEntries(Object.entries(r.cost ?? {}).map(([c, a]) => [c, trim(String(a))])),
  }));
}
