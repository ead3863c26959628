import type { OperationObject, ParameterObject, PathsObject, RequestBodyObject, SchemaObject } from '@nestjs/swagger';
import { DIFY_ROUTES, UUID_PARAMS, type DifyRoute } from '../dify/dify.routes.js';
import type { QueryRule } from '../dify/query-checks.js';
import { SCHEMA_REF_PREFIX } from './dto-schemas.js';

export const V1_PREFIX = '/v1';
export const GATEWAY_KEY_SCHEME = 'gatewayKey';
export const ERROR_RESPONSE_REF = '#/components/responses/Error';

/** `/chat-messages/:task_id/stop` → `/v1/chat-messages/{task_id}/stop`. */
export function openApiPath(route: Pick<DifyRoute, 'path'>): string {
  return V1_PREFIX + (route.path || '/').replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function querySchema(rule: QueryRule): { schema: SchemaObject; required: boolean } {
  if (rule === 'required') return { schema: { type: 'string' }, required: true };
  if (rule === 'uuid' || rule === 'uuid-required') return { schema: { type: 'string', format: 'uuid' }, required: rule === 'uuid-required' };
  if (rule === 'datetime') return { schema: { type: 'string', format: 'date-time' }, required: false };
  if ('int' in rule) {
    const [minimum, max] = rule.int;
    return { schema: { type: 'integer', minimum, ...(max === Number.MAX_SAFE_INTEGER ? {} : { maximum: max }) }, required: false };
  }
  if ('oneOf' in rule) return { schema: { type: 'string', enum: [...rule.oneOf] }, required: false };
  return { schema: { type: 'string', pattern: rule.pattern.source }, required: false };
}

function parameters(route: DifyRoute): ParameterObject[] {
  const params: ParameterObject[] = (route.path.match(/:([A-Za-z0-9_]+)/g) ?? []).map((p) => {
    const name = p.slice(1);
    return { name, in: 'path', required: true, schema: UUID_PARAMS.has(name) ? { type: 'string', format: 'uuid' } : { type: 'string' } };
  });
  for (const [name, rule] of Object.entries(route.query ?? {})) params.push({ name, in: 'query', ...querySchema(rule) });
  const user = route.user?.in === 'query' ? (route.user.name ?? 'user') : undefined;
  if (user && !params.some((p) => p.name === user)) {
    const description = "The end user, put in the calling team's namespace.";
    params.push({ name: user, in: 'query', required: false, schema: { type: 'string', maxLength: 255 }, description });
  }
  return params;
}

function requestBody(route: DifyRoute): RequestBodyObject | undefined {
  if (route.body === 'none') return undefined;
  if (route.body === 'multipart') {
    const properties: Record<string, SchemaObject> = { file: { type: 'string', format: 'binary' } };
    if (route.user?.in === 'form') properties.user = { type: 'string', maxLength: 255 };
    return { required: true, content: { 'multipart/form-data': { schema: { type: 'object', properties } } } };
  }
  // A row without a DTO passes its JSON object to Dify as it is.
  const schema = route.dto ? { $ref: SCHEMA_REF_PREFIX + route.dto.name } : { type: 'object' as const, additionalProperties: true };
  return { required: Boolean(route.dto), content: { 'application/json': { schema } } };
}

function operation(route: DifyRoute): OperationObject {
  const answer: Record<string, { schema: SchemaObject }> = { 'application/json': { schema: { description: "Dify's answer, relayed" } } };
  if (route.stream) answer['text/event-stream'] = { schema: { type: 'string', description: 'Server-sent events, relayed as Dify sends them' } };
  const body = requestBody(route);
  return {
    operationId: route.name,
    tags: [route.target === 'dataset' ? 'knowledge' : `v1 ${route.name.split('.')[0]}`],
    summary: `${route.method} ${route.path || '/'} (Dify ${route.target === 'dataset' ? 'knowledge' : 'app'} API)`,
    description: `Scope \`${route.scope}\`; ${route.retry === 'idempotent' ? 'retried on transient failures' : 'repeated only when Dify did not run it'}.`,
    security: [{ [GATEWAY_KEY_SCHEME]: [route.scope] }],
    parameters: parameters(route),
    ...(body ? { requestBody: body } : {}),
    responses: { '200': { description: 'Dify answered', content: answer }, default: { $ref: ERROR_RESPONSE_REF } },
  };
}

/** The /v1 surface, one operation per route-table row (the table, not Nest, decides what exists). */
export function v1Paths(routes: readonly DifyRoute[] = DIFY_ROUTES): PathsObject {
  const paths: PathsObject = {};
  for (const route of routes) {
    const item = (paths[openApiPath(route)] ??= {});
    (item as Record<string, OperationObject>)[route.method.toLowerCase()] = operation(route);
  }
  return paths;
}
