/**
 * The route table as data: method, path pattern below /v1, which key type it needs, and the handler.
 * Patterns use `{name}` for a path segment and `{name:uuid}` for Flask's `<uuid:name>` (a non-UUID
 * value does not match, so it ends as a routing 404, like Flask).
 */
import type { AppContext, RequestContext } from './context.js';
import { isUuid } from './util.js';

export type Handler<C extends RequestContext = RequestContext> = (ctx: C) => void | Promise<void>;

interface Segment {
  literal?: string;
  param?: string;
  uuid?: boolean;
}

export type Route =
  | { method: string; auth: 'none'; segments: Segment[]; handler: Handler }
  | { method: string; auth: 'app'; segments: Segment[]; handler: Handler<AppContext> }
  | { method: string; auth: 'dataset'; segments: Segment[]; handler: Handler };

function parsePattern(pattern: string): Segment[] {
  return pattern
    .split('/')
    .slice(1)
    .map((part) => {
      const param = /^\{(\w+)(:uuid)?\}$/.exec(part);
      return param ? { param: param[1], uuid: Boolean(param[2]) } : { literal: part };
    });
}

/** A route reached with an app key (`app-…`). */
export const appRoute = (method: string, pattern: string, handler: Handler<AppContext>): Route => ({
  method,
  auth: 'app',
  segments: parsePattern(pattern),
  handler,
});

export const publicRoute = (method: string, pattern: string, handler: Handler): Route => ({
  method,
  auth: 'none',
  segments: parsePattern(pattern),
  handler,
});

/** A route reached with a knowledge key (`dataset-…`). */
export const datasetRoute = (method: string, pattern: string, handler: Handler): Route => ({
  method,
  auth: 'dataset',
  segments: parsePattern(pattern),
  handler,
});

export type RouteMatch =
  { kind: 'found'; route: Route; params: Record<string, string> } | { kind: 'method-not-allowed'; allowed: string[] } | { kind: 'not-found' };

/** Like Flask, HEAD is served by the GET route (Node drops the body of a HEAD answer). */
export function matchRoute(routes: Route[], method: string, path: string): RouteMatch {
  const parts = path.split('/').slice(1);
  const wanted = method === 'HEAD' ? 'GET' : method;
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchSegments(route.segments, parts);
    if (!params) continue;
    if (route.method === wanted) return { kind: 'found', route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    let part: string;
    try {
      part = decodeURIComponent(parts[i]);
    } catch {
      return null;
    }
    if (segment.literal !== undefined) {
      if (segment.literal !== part) return null;
    } else {
      if (part === '' || (segment.uuid && !isUuid(part))) return null;
      params[segment.param!] = part;
    }
  }
  return params;
}
