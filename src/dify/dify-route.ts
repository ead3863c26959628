import type { Scope } from '../auth/scopes.js';
import type { QueryRules } from './query-checks.js';

/*
 * The shape of a route row (dify.routes.ts is the table) and the helpers the tables are written with.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How a failed call may be repeated:
 * - `idempotent`: repeating it cannot change anything (reads, stops);
 * - `unsafe`: it may spend tokens or create data, so it is repeated only when the failure
 *   proves Dify did not run it.
 */
export type RetryClass = 'idempotent' | 'unsafe';

export type BodyKind = 'none' | 'json' | 'multipart';

/**
 * Where Dify reads the end user of an endpoint (SERVICE_API.md §4, "user from"), so that the
 * gateway can put it in the caller's namespace (src/isolation).
 */
export interface UserField {
  in: 'json' | 'query' | 'form';
  /** Default `user`. */
  name?: string;
  /**
   * When the caller sends none, send the namespace's own anonymous user instead of letting Dify
   * use its shared `DEFAULT-USER` (default true). False for a filter such as the logs' session id.
   */
  addWhenAbsent?: boolean;
}

/**
 * Dify ids that Dify does not scope by `user`; the gateway records and checks their owner.
 * `form`: a human-input form token (anyone holding it can read and submit the form, resuming the
 * run); `message`: a message id, which `POST /text-to-audio` reads without checking its user.
 */
export type OwnedKind = 'task' | 'workflow_run' | 'file' | 'form' | 'message';

export interface OwnedParam {
  /** The path parameter holding the id. */
  param: string;
  kind: OwnedKind;
  /** Someone else's id: a 404 like Dify's, or (stops) Dify's own silent success without calling it. */
  foreign: 'not_found' | 'ignore';
}

export interface DifyRoute {
  /** Stable name used in logs, audit rows and metrics. */
  name: string;
  method: HttpMethod;
  /** Path under /v1, with `:param` placeholders. */
  path: string;
  scope: Scope;
  retry: RetryClass;
  body: BodyKind;
  /** class-validator DTO checked before the call leaves the gateway. */
  dto?: new () => object;
  /** The answer may be a text/event-stream. */
  stream?: boolean;
  /** Goes to the knowledge (dataset) API with the dataset key instead of an app. Default `app`. */
  target?: 'app' | 'dataset';
  /** Where the end user is, for namespacing. Absent: the endpoint has no `user`. */
  user?: UserField;
  /** An id in the path whose owner the gateway checks. */
  owned?: OwnedParam;
  /** A top-level string member of the JSON body holding an id whose owner the gateway checks (when present). */
  ownedInBody?: { member: string; kind: OwnedKind };
  /** Ids in the answer the gateway records as the caller's. */
  records?: OwnedKind[];
  /**
   * The answer shows every end user of the app: it also needs the `app:all-users` scope, always
   * or when the caller does not filter by end user.
   */
  allUsers?: 'always' | 'without-user';
  /** The answer is an end user, which must be one of the caller's (else 404). */
  endUserAnswer?: boolean;
  /** `GET /datasets`: answered from the caller's dataset allow-list. */
  listsDatasets?: boolean;
  /** Query parameters checked as Dify checks them, before the call is sent (src/dify/query-checks.ts). */
  query?: QueryRules;
  /**
   * A list answer whose items each name their end user: items of other namespaces are removed,
   * whatever filter Dify applied (src/dify/answer-items.ts). `list` is the array member,
   * `session` the path to the end user's session id inside an item.
   */
  userItems?: { list: string; session: readonly string[] };
}

export type RowExtra = Pick<
  DifyRoute,
  'dto' | 'stream' | 'target' | 'user' | 'owned' | 'ownedInBody' | 'records' | 'allUsers' | 'endUserAnswer' | 'listsDatasets' | 'query' | 'userItems'
>;

/**
 * Path parameters Dify declares `<uuid:…>` (§13.3): a value that is not a uuid never matches the
 * route in Dify (its 404), so the gateway does not match it either and nothing is sent.
 */
export const UUID_PARAMS: ReadonlySet<string> = new Set([
  'conversation_id',
  'variable_id',
  'message_id',
  'end_user_id',
  'file_id',
  'annotation_id',
  'job_id',
  'dataset_id',
  'document_id',
  'segment_id',
  'child_chunk_id',
  'metadata_id',
]);

export const row = (
  name: string,
  method: HttpMethod,
  path: string,
  scope: Scope,
  retry: RetryClass,
  body: BodyKind = 'none',
  extra: RowExtra = {},
): DifyRoute => ({
  name,
  method,
  path,
  scope,
  retry,
  body,
  ...extra,
});

export const JSON_USER: UserField = { in: 'json' };
export const QUERY_USER: UserField = { in: 'query' };
export const FORM_USER: UserField = { in: 'form' };
export const dataset = (extra: RowExtra = {}): RowExtra => ({ target: 'dataset', ...extra });
export const PAGE: QueryRules = { page: { int: [1, 99999] }, limit: { int: [1, 100] } };
export const REQUIRED_USER: QueryRules = { user: 'required' };
export const RUN_STATUSES = ['succeeded', 'failed', 'stopped'] as const;
export const CONVERSATION_SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at'] as const;
