import { matchRoute, type RouteMatch } from '../dify/route-matcher.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

export type MatchedRoute = Extract<RouteMatch, { kind: 'matched' }>;

/** The match stage: the route-table row of a /v1 request (404 or 405 when there is none) and its raw query string. */
export function matchCall(method: string, originalUrl: string): { match: MatchedRoute; rawQuery: string } {
  const q = originalUrl.indexOf('?');
  const path = (q === -1 ? originalUrl : originalUrl.slice(0, q)).replace(/^\/v1/, '');
  const match = matchRoute(method, path);
  if (match.kind === 'not_found') throw GatewayErrors.notFound();
  if (match.kind === 'method_not_allowed') {
    throw GatewayErrors.methodNotAllowed(match.allowed);
  }
  return { match, rawQuery: q === -1 ? '' : originalUrl.slice(q + 1) };
}
