/**
 * Deeper values are hashed as this marker. Stored details come out of `redact()` (at most
 * REDACT_MAX_DEPTH deep), so real events never reach it; it only keeps the recursion bounded.
 */
const CANONICAL_MAX_DEPTH = 256;
const CANONICAL_TOO_DEEP = JSON.stringify('[Truncated]');

/** JSON with object keys sorted (recursively) and no whitespace: the same bytes for the same data. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (depth >= CANONICAL_MAX_DEPTH) return CANONICAL_TOO_DEEP;
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
}
