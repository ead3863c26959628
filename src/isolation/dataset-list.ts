import { Readable } from 'node:stream';
import type { DifyAppConfig } from '../config/gateway-config.js';
import type { DifyCallResponse } from '../dify/dify.client.js';
import { DifyError } from '../dify/dify.errors.js';
import { DIFY_ROUTES, type DifyRoute } from '../dify/dify.routes.js';
import { readLimited } from '../dify/read-limited.js';
import { DifyErrors } from '../common/errors/dify-errors.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

/** One upstream request of a call; the caller of `exchange` adds the request id and the abort signal. */
export type SendUpstream = (request: {
  app: DifyAppConfig;
  route: DifyRoute;
  upstreamPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
}) => Promise<DifyCallResponse>;

const GET_DATASET = DIFY_ROUTES.find((r) => r.name === 'datasets.get') as DifyRoute;
const PARALLEL = 8;
const MAX_LIMIT = 100;

interface Dataset {
  id: string;
  name?: unknown;
  created_at?: unknown;
  tags?: unknown;
}

/**
 * `GET /datasets` for a key with an allow-list: Dify's list covers the whole workspace, and
 * filtering one of its pages would break `total` and paging. So the gateway reads the allowed
 * knowledge bases one by one (`GET /datasets/{id}`, the same fields as a list item), drops those
 * Dify no longer has, applies `keyword` (name contains, case-insensitive) and `tag_ids` (any of
 * them) like Dify, orders by creation time, newest first, and pages with `page` and `limit`.
 */
export async function listAllowedDatasets(target: DifyAppConfig, allowed: string[], rawQuery: string, send: SendUpstream): Promise<DifyCallResponse> {
  const query = new URLSearchParams(rawQuery);
  const page = intParam(query, 'page', 1, 1, 1_000_000);
  const limit = Math.min(MAX_LIMIT, intParam(query, 'limit', 20, 1, 1_000_000));
  const keyword = query.get('keyword')?.toLowerCase() || undefined;
  const tagIds = query
    .getAll('tag_ids')
    .flatMap((v) => v.split(','))
    .filter(Boolean);

  let attempts = 0;
  const found: Dataset[] = [];
  for (let i = 0; i < allowed.length; i += PARALLEL) {
    const batch = await Promise.all(
      allowed.slice(i, i + PARALLEL).map(async (id) => {
        try {
          const response = await send({
            app: target,
            route: GET_DATASET,
            upstreamPath: `/datasets/${encodeURIComponent(id)}`,
            rawQuery: '',
            headers: { accept: 'application/json' },
          });
          attempts += response.attempts;
          return JSON.parse((await readLimited(response.body, 1024 * 1024)).toString('utf8')) as Dataset;
        } catch (error) {
          if (error instanceof DifyError && error.status === 404) return undefined; // deleted in Dify
          if (error instanceof SyntaxError) throw DifyErrors.malformedJson();
          throw error;
        }
      }),
    );
    for (const dataset of batch) if (dataset && typeof dataset.id === 'string') found.push(dataset);
  }

  const matching = found
    .filter((d) => !keyword || (typeof d.name === 'string' && d.name.toLowerCase().includes(keyword)))
    .filter((d) => tagIds.length === 0 || (Array.isArray(d.tags) && d.tags.some((t: { id?: unknown }) => tagIds.includes(String(t?.id)))))
    .sort((a, b) => Number(b.created_at ?? 0) - Number(a.created_at ?? 0) || (a.id < b.id ? 1 : -1));
  const data = matching.slice((page - 1) * limit, page * limit);
  const bytes = Buffer.from(JSON.stringify({ data, has_more: page * limit < matching.length, limit, total: matching.length, page }), 'utf8');
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) },
    body: Readable.from([bytes]),
    attempts,
    abortReason: () => undefined,
  };
}

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw GatewayErrors.invalidParam(`${name} must be an integer from ${min} to ${max}.`);
  return Number(raw);
}
