import { DIFY_ROUTES, UUID_PARAMS, type DifyRoute } from './dify.routes.js';
import { isPathUuid } from './dto/lax.js';

/**
 * Matches an incoming raw URL path against the route table. Path parameters must look like
 * Dify ids (UUIDs, task ids, form tokens), so no `..`, slash, backslash or percent-encoding can
 * ever reach the upstream path: the upstream URL is rebuilt from the template, never copied.
 * Parameters Dify types as uuids (UUID_PARAMS) match only a uuid, as in Dify's own routing.
 */
const PARAM_VALUE = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/;
const PARAM_CONSTRAINTS: Record<string, RegExp> = { action: /^(enable|disable)$/, document_action: /^(enable|disable|archive|un_archive)$/ };

export type RouteMatch =
  | { kind: 'matched'; route: DifyRoute; params: Record<string, string>; upstreamPath: string }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

interface CompiledRoute {
  route: DifyRoute;
  segments: string[];
}

const COMPILED: CompiledRoute[] = DIFY_ROUTES.map((route) => ({
  route,
  segments: route.path.split('/').filter(Boolean),
}));

/** `path` is the part after `/v1`, still percent-encoded as received. */
export function matchRoute(method: string, path: string): RouteMatch {
  if (!isCanonicalPath(path)) return { kind: 'not_found' };
  const segments = path.split('/').filter(Boolean);
  const candidates = COMPILED.map((c) => ({ c, params: matchSegments(c.segments, segments) })).filter(
    (m): m is { c: CompiledRoute; params: Record<string, string> } => m.params !== null,
  );
  if (candidates.length === 0) return { kind: 'not_found' };
  const sameMethod = candidates.filter((m) => m.c.route.method === method.toUpperCase());
  if (sameMethod.length === 0) {
    return { kind: 'method_not_allowed', allowed: [...new Set(candidates.map((m) => m.c.route.method))] };
  }
  // Prefer the row with the most literal segments (`/workflows/logs` over `/workflows/:id`).
  sameMethod.sort((a, b) => literalCount(b.c) - literalCount(a.c));
  const { c, params } = sameMethod[0];
  return { kind: 'matched', route: c.route, params, upstreamPath: buildPath(c.route.path, params) };
}

function isCanonicalPath(path: string): boolean {
  if (path === '' || path === '/') return true;
  if (!path.startsWith('/') || path.endsWith('/')) return false;
  // No encoded characters, no empty or dot segments, no backslashes.
  return !/[%\\]|\/\/|(^|\/)\.{1,2}(\/|$)/.test(path);
}

function matchSegments(template: string[], actual: string[]): Record<string, string> | null {
  if (template.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    const a = actual[i];
    if (t.startsWith(':')) {
      const name = t.slice(1);
      if (!PARAM_VALUE.test(a) || !(PARAM_CONSTRAINTS[name]?.test(a) ?? true)) return null;
      if (UUID_PARAMS.has(name) && !isPathUuid(a)) return null;
      params[name] = a;
    } else if (t !== a) {
      return null;
    }
  }
  return params;
}

function literalCount(c: CompiledRoute): number {
  return c.segments.filter((s) => !s.startsWith(':')).length;
}

/** Rebuilds the upstream path from the template; parameters are already restricted to safe characters. */
export function buildPath(template: string, params: Record<string, string>): string {
  return template.replace(/:([a-z_]+)/g, (_, name: string) => encodeURIComponent(params[name]));
}
