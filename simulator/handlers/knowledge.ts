/**
 * The knowledge (dataset) API is not simulated beyond GET /datasets, which exists so that knowledge
 * keys and app keys can be told apart (an app key there is a 401, like a knowledge key on app routes).
 */
import { intParam } from '../body.js';
import type { RequestContext } from '../context.js';

export function listDatasets(ctx: RequestContext): void {
  const page = intParam(ctx, 'page', 1, 1, Number.MAX_SAFE_INTEGER, 'DatasetListQuery');
  const limit = Math.min(100, intParam(ctx, 'limit', 20, 1, Number.MAX_SAFE_INTEGER, 'DatasetListQuery'));
  ctx.json(200, { data: [], has_more: false, limit, total: 0, page });
}
