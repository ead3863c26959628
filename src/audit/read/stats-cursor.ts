import { GatewayErrors } from '../../common/errors/gateway-errors.js';
import { isUuid } from '../../database/database.errors.js';
import type { StatsDimension, StatsKey } from './audit-stats-query.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_APP_LENGTH = 200;

/** The cursor of `/audit/stats`: the last group of a page and the grouping it belongs to, opaque to callers. */
export function encodeStatsCursor(groupBy: readonly StatsDimension[], key: StatsKey): string {
  return Buffer.from(JSON.stringify({ g: groupBy.join(','), k: [key.day, key.callerKeyId, key.appAlias] })).toString('base64url');
}

/** The group a page starts after; a 400 for anything that is not a cursor of this grouping. */
export function decodeStatsCursor(cursor: string, groupBy: readonly StatsDimension[]): StatsKey {
  const invalid = () => GatewayErrors.invalidParam('cursor is not a cursor returned by /audit/stats for this group_by.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const { g, k } = (parsed ?? {}) as { g?: unknown; k?: unknown };
  if (g !== groupBy.join(',') || !Array.isArray(k) || k.length !== 3) throw invalid();
  const [day, caller, app] = k as unknown[];
  const by = new Set(groupBy);
  // A grouped dimension holds its group's value (null allowed for caller and app); one not grouped is null.
  const ok = (dim: StatsDimension, value: unknown, valid: (v: string) => boolean, nullable: boolean) =>
    by.has(dim) ? (value === null ? nullable : typeof value === 'string' && valid(value)) : value === null;
  if (
    !ok('day', day, (d) => DAY.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), false) ||
    !ok('caller', caller, isUuid, true) ||
    !ok('app', app, (a) => a.length <= MAX_APP_LENGTH, true)
  )
    throw invalid();
  return { day: day as string | null, callerKeyId: caller as string | null, appAlias: app as string | null };
}
