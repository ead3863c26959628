/**
 * The calls the conformance suite sends for each route row: a valid one, one invalid per checked
 * field (the row's DTO members and query rules), and one per uuid path parameter with a non-uuid.
 */
import { getMetadataStorage } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { UUID_PARAMS, type DifyRoute } from '../../src/dify/dify.routes.js';

export interface Ids {
  dataset: string;
  document: string;
  segment: string;
  batch: string;
}

export interface ConformanceCall {
  label: string;
  path: string;
  query: string;
  body?: { type: string; data: string | Buffer };
}

const USER = 'conformance-user';
/** Replaced by a fresh value on every send (a knowledge base name must be new). */
export const UNIQUE = '__unique__';
const BOUNDARY = 'conformanceB0undary';

/** Bodies Dify takes, per row name; a row not listed sends `{ user }` (or nothing). */
const VALID_JSON: Record<string, Record<string, unknown>> = {
  'chat.create': { inputs: {}, query: 'hello', response_mode: 'blocking', conversation_id: '', auto_generate_name: 'true', user: 12345 },
  'completion.create': { inputs: {}, query: 'hello', response_mode: 'blocking', user: USER },
  'workflow.run': { inputs: {}, response_mode: 'blocking', user: USER },
  'workflow.run_version': { inputs: {}, response_mode: 'blocking', user: USER },
  'form.submit': { inputs: {}, action: 'approve', user: USER },
  'messages.feedback': { rating: null, user: USER },
  'conversations.rename': { auto_generate: 1, user: USER },
  'conversations.update_variable': { value: null, user: USER },
  'audio.from_text': { text: 'hello', streaming: 'yes', user: USER },
  'annotations.create': { question: '', answer: '' },
  'annotations.update': { question: 'q', answer: '' },
  'annotations.reply_toggle': { embedding_provider_name: 'openai', embedding_model_name: 'text-embedding-3-small', score_threshold: '0.5' },
  'datasets.create': { name: UNIQUE },
  'datasets.retrieve': { query: 'leave' },
  'datasets.hit_testing': { query: 'leave' },
  'documents.create_by_text': { name: 'a.md', text: 'A text.' },
  'documents.create_by_text_legacy': { name: 'b.md', text: 'B text.' },
  'segments.create': { segments: [{ content: 'More.' }] },
  'child_chunks.create': { content: 'A chunk.' },
  'child_chunks.update': { content: 'A chunk.' },
  'metadata.create': { type: 'string', name: 'owner' },
  'metadata.update': { name: 'owner' },
};

const VALID_QUERY: Record<string, string> = {
  'messages.list': `conversation_id=${randomUUID()}&limit=5&user=${USER}`,
  'workflow.events': `user=${USER}`,
  'messages.suggested': `user=${USER}`,
  'conversations.list': `limit=100&sort_by=created_at&user=${USER}`,
  'workflow.logs': 'status=succeeded&created_at__after=2025-01-01T00:00:00Z',
};

/** Values that break one rule: the wrong type for a member, out of range or malformed for a query. */
const INVALID_QUERY_VALUE = (rule: unknown): string => (rule === 'required' ? '' : typeof rule === 'object' && rule && 'int' in rule ? '0' : 'not valid!');

export function samplePath(route: DifyRoute, ids: Ids, override: Record<string, string> = {}): string {
  const destructive = route.method === 'DELETE';
  const values: Record<string, string> = {
    action: 'enable',
    document_action: 'enable',
    dataset_id: ids.dataset,
    document_id: destructive ? randomUUID() : ids.document,
    segment_id: destructive ? randomUUID() : ids.segment,
    batch: ids.batch,
    model_type: 'text-embedding',
  };
  if (route.name === 'datasets.delete') values.dataset_id = randomUUID();
  Object.assign(values, override);
  return route.path.replace(/:([a-z_]+)/g, (_, name: string) => values[name] ?? randomUUID());
}

function multipart(route: DifyRoute): { type: string; data: Buffer } {
  const user = route.user?.in === 'form' ? `--${BOUNDARY}\r\nContent-Disposition: form-data; name="user"\r\n\r\n${USER}\r\n` : '';
  const file = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nSome text.\r\n`;
  return { type: `multipart/form-data; boundary=${BOUNDARY}`, data: Buffer.from(`${user}${file}--${BOUNDARY}--\r\n`) };
}

function jsonBody(route: DifyRoute, body: Record<string, unknown>): { type: string; data: string } {
  return { type: 'application/json', data: JSON.stringify(body) };
}

function validJson(route: DifyRoute): Record<string, unknown> {
  return VALID_JSON[route.name] ?? (route.user?.in === 'json' ? { user: USER } : {});
}

/** The DTO members that carry a check, with a value each check refuses. */
function invalidMembers(dto: new () => object): { member: string; value: unknown }[] {
  type Invalid = { member: string; value: unknown };
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  const members = new Map<string, string[]>();
  for (const m of metas) members.set(m.propertyName, [...(members.get(m.propertyName) ?? []), m.name ?? m.type]);
  // A `user` of another JSON type is refused on purpose (Dify would take its Python str()): README.
  return [...members]
    .filter(([member]) => member !== 'user')
    .flatMap(([member, checks]): Invalid[] => {
      if (checks.includes('isPresent')) return [{ member, value: undefined }];
      if (checks.includes('isObject')) return [{ member, value: 'not an object' }];
      return [{ member, value: { not: 'a scalar' } }];
    });
}

export function conformanceCalls(route: DifyRoute, ids: Ids): ConformanceCall[] {
  const path = samplePath(route, ids);
  const query = VALID_QUERY[route.name] ?? (route.user?.in === 'query' ? `user=${USER}` : '');
  const body = route.body === 'json' ? jsonBody(route, validJson(route)) : route.body === 'multipart' ? multipart(route) : undefined;
  const calls: ConformanceCall[] = [{ label: 'valid', path, query, body }];
  for (const [name, rule] of Object.entries(route.query ?? {})) {
    const params = new URLSearchParams(query);
    params.set(name, INVALID_QUERY_VALUE(rule));
    calls.push({ label: `query ${name}`, path, query: params.toString(), body });
  }
  if (route.dto) {
    for (const { member, value } of invalidMembers(route.dto)) {
      const broken = { ...validJson(route) };
      if (value === undefined) delete broken[member];
      else broken[member] = value;
      if (route.name === 'audio.from_text' && member === 'text') delete broken.message_id;
      calls.push({ label: `body ${member}`, path, query, body: jsonBody(route, broken) });
    }
  }
  for (const param of route.path.match(/:([a-z_]+)/g) ?? []) {
    const name = param.slice(1);
    if (UUID_PARAMS.has(name)) calls.push({ label: `non-uuid ${name}`, path: samplePath(route, ids, { [name]: 'not-a-uuid' }), query, body });
  }
  if (route.name === 'conversations.delete') calls.push({ label: 'no body', path, query, body: undefined });
  return calls;
}
