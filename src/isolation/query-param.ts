import { GatewayErrors } from '../common/errors/gateway-errors.js';

/**
 * Rewrites one parameter of a raw query string and keeps every other byte as received.
 * `rewrite` gets the decoded value (undefined when the parameter is absent) and returns the new
 * value, or undefined to leave the query as it is. Every occurrence is rewritten (Flask reads the
 * first, other servers the last).
 */
export function rewriteQueryParam(rawQuery: string, name: string, rewrite: (value: string | undefined) => string | undefined): string {
  const pairs = rawQuery === '' ? [] : rawQuery.split('&');
  let found = false;
  const out = pairs.map((pair) => {
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    if (decodeComponent(rawKey) !== name) return pair;
    found = true;
    const next = rewrite(decodeComponent(eq === -1 ? '' : pair.slice(eq + 1)));
    return next === undefined ? pair : `${rawKey}=${encodeURIComponent(next)}`;
  });
  if (!found) {
    const next = rewrite(undefined);
    if (next !== undefined) out.push(`${encodeURIComponent(name)}=${encodeURIComponent(next)}`);
  }
  return out.join('&');
}

/** The value of the first occurrence of `name`, decoded as a form value (`+` is a space). */
export function queryParam(rawQuery: string, name: string): string | undefined {
  for (const pair of rawQuery === '' ? [] : rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    if (decodeComponent(eq === -1 ? pair : pair.slice(0, eq)) === name) return decodeComponent(eq === -1 ? '' : pair.slice(eq + 1));
  }
  return undefined;
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw GatewayErrors.invalidParam('The query string is not correctly percent-encoded.');
  }
}
