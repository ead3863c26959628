import type { Scope } from '../auth/scopes.js';
import { ChatMessageDto, CompletionMessageDto, StopTaskDto, WorkflowRunDto } from './dto/generation.dto.js';
import {
  AnnotationDto,
  AnnotationReplyDto,
  DeleteConversationDto,
  FeedbackDto,
  HumanInputSubmitDto,
  RenameConversationDto,
  TextToAudioDto,
  UpdateVariableDto,
} from './dto/resource.dto.js';
import {
  ChildChunkDto,
  DatasetCreateDto,
  DocumentByTextDto,
  DocumentUpdateByTextDto,
  MetadataCreateDto,
  MetadataUpdateDto,
  RetrieveDto,
  SegmentsCreateDto,
} from './dto/knowledge.dto.js';
import type { QueryRules } from './query-checks.js';

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

type RowExtra = Pick<
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

const row = (name: string, method: HttpMethod, path: string, scope: Scope, retry: RetryClass, body: BodyKind = 'none', extra: RowExtra = {}): DifyRoute => ({
  name,
  method,
  path,
  scope,
  retry,
  body,
  ...extra,
});

const JSON_USER: UserField = { in: 'json' };
const QUERY_USER: UserField = { in: 'query' };
const FORM_USER: UserField = { in: 'form' };
const dataset = (extra: RowExtra = {}): RowExtra => ({ target: 'dataset', ...extra });
const PAGE: QueryRules = { page: { int: [1, 99999] }, limit: { int: [1, 100] } };
const REQUIRED_USER: QueryRules = { user: 'required' };
const RUN_STATUSES = ['succeeded', 'failed', 'stopped'] as const;
const CONVERSATION_SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at'] as const;

/** Every Dify Service API endpoint the gateway exposes (contract §4 for app keys, §5 for knowledge). */
export const DIFY_ROUTES: readonly DifyRoute[] = [
  // §4.1 generation
  row('chat.create', 'POST', '/chat-messages', 'chat', 'unsafe', 'json', {
    dto: ChatMessageDto,
    stream: true,
    user: JSON_USER,
    records: ['workflow_run', 'message', 'form'],
  }),
  row('chat.stop', 'POST', '/chat-messages/:task_id/stop', 'chat', 'idempotent', 'json', { dto: StopTaskDto, user: JSON_USER }),
  row('completion.create', 'POST', '/completion-messages', 'chat', 'unsafe', 'json', {
    dto: CompletionMessageDto,
    stream: true,
    user: JSON_USER,
    records: ['message'],
  }),
  row('completion.stop', 'POST', '/completion-messages/:task_id/stop', 'chat', 'idempotent', 'json', { dto: StopTaskDto, user: JSON_USER }),
  row('workflow.run', 'POST', '/workflows/run', 'workflow', 'unsafe', 'json', {
    dto: WorkflowRunDto,
    stream: true,
    user: JSON_USER,
    records: ['task', 'workflow_run', 'form'],
  }),
  row('workflow.run_version', 'POST', '/workflows/:workflow_id/run', 'workflow', 'unsafe', 'json', {
    dto: WorkflowRunDto,
    stream: true,
    user: JSON_USER,
    records: ['task', 'workflow_run', 'form'],
  }),
  // Dify does not check `user` on a workflow stop: the gateway checks the task's owner.
  row('workflow.stop', 'POST', '/workflows/tasks/:task_id/stop', 'workflow', 'idempotent', 'json', {
    dto: StopTaskDto,
    user: JSON_USER,
    owned: { param: 'task_id', kind: 'task', foreign: 'ignore' },
  }),
  // §4.2 workflow runs
  row('workflow.get_run', 'GET', '/workflows/run/:workflow_run_id', 'workflow', 'idempotent', 'none', {
    owned: { param: 'workflow_run_id', kind: 'workflow_run', foreign: 'not_found' },
  }),
  row('workflow.logs', 'GET', '/workflows/logs', 'workflow', 'idempotent', 'none', {
    user: { in: 'query', name: 'created_by_end_user_session_id', addWhenAbsent: false },
    allUsers: 'without-user',
    query: { ...PAGE, status: { oneOf: RUN_STATUSES }, created_at__before: 'datetime', created_at__after: 'datetime' },
    // An older Dify ignores the session filter (§13.8): the answer is filtered again here.
    userItems: { list: 'data', session: ['created_by_end_user', 'session_id'] },
  }),
  row('workflow.events', 'GET', '/workflow/:workflow_run_id/events', 'workflow', 'idempotent', 'none', {
    stream: true,
    user: QUERY_USER,
    records: ['form'],
    query: REQUIRED_USER,
  }),
  // §4.3 human input: a form token is all Dify asks for; the gateway checks whose run it paused.
  row('form.get', 'GET', '/form/human_input/:form_token', 'workflow', 'idempotent', 'none', {
    owned: { param: 'form_token', kind: 'form', foreign: 'not_found' },
  }),
  row('form.submit', 'POST', '/form/human_input/:form_token', 'workflow', 'unsafe', 'json', {
    dto: HumanInputSubmitDto,
    user: JSON_USER,
    owned: { param: 'form_token', kind: 'form', foreign: 'not_found' },
  }),
  // §4.4 files (a preview ignores `user` in Dify: the gateway checks the upload's owner)
  row('files.upload', 'POST', '/files/upload', 'files', 'unsafe', 'multipart', { user: FORM_USER, records: ['file'] }),
  row('files.preview', 'GET', '/files/:file_id/preview', 'files', 'idempotent', 'none', { owned: { param: 'file_id', kind: 'file', foreign: 'not_found' } }),
  // §4.5 messages, feedback, suggestions
  row('messages.list', 'GET', '/messages', 'conversations', 'idempotent', 'none', {
    user: QUERY_USER,
    query: { conversation_id: 'uuid-required', first_id: 'uuid', limit: { int: [1, 100] } },
  }),
  row('messages.feedback', 'POST', '/messages/:message_id/feedbacks', 'feedback', 'unsafe', 'json', { dto: FeedbackDto, user: JSON_USER }),
  row('feedbacks.list', 'GET', '/app/feedbacks', 'feedback', 'idempotent', 'none', {
    allUsers: 'always',
    query: { page: { int: [1, Number.MAX_SAFE_INTEGER] }, limit: { int: [1, 101] } },
  }),
  row('messages.suggested', 'GET', '/messages/:message_id/suggested', 'chat', 'idempotent', 'none', { user: QUERY_USER, query: REQUIRED_USER }),
  // §4.6 conversations
  row('conversations.list', 'GET', '/conversations', 'conversations', 'idempotent', 'none', {
    user: QUERY_USER,
    query: { last_id: 'uuid', limit: { int: [1, 100] }, sort_by: { oneOf: CONVERSATION_SORTS } },
  }),
  row('conversations.delete', 'DELETE', '/conversations/:conversation_id', 'conversations', 'unsafe', 'json', { dto: DeleteConversationDto, user: JSON_USER }),
  row('conversations.rename', 'POST', '/conversations/:conversation_id/name', 'conversations', 'unsafe', 'json', {
    dto: RenameConversationDto,
    user: JSON_USER,
  }),
  row('conversations.variables', 'GET', '/conversations/:conversation_id/variables', 'conversations', 'idempotent', 'none', {
    user: QUERY_USER,
    query: { last_id: 'uuid', limit: { int: [1, 100] }, variable_name: { pattern: /^[A-Za-z0-9_.-]{1,255}$/ } },
  }),
  row('conversations.update_variable', 'PUT', '/conversations/:conversation_id/variables/:variable_id', 'conversations', 'unsafe', 'json', {
    dto: UpdateVariableDto,
    user: JSON_USER,
  }),
  // §4.7 audio
  row('audio.to_text', 'POST', '/audio-to-text', 'audio', 'unsafe', 'multipart', { user: FORM_USER }),
  // Dify reads `message_id` here without checking its user: the gateway checks the message's owner.
  row('audio.from_text', 'POST', '/text-to-audio', 'audio', 'unsafe', 'json', {
    dto: TextToAudioDto,
    user: JSON_USER,
    ownedInBody: { member: 'message_id', kind: 'message' },
  }),
  // §4.8 app metadata (`GET /` needs a gateway key here, unlike Dify: see the README)
  row('app.welcome', 'GET', '/', 'app:read', 'idempotent'),
  row('app.info', 'GET', '/info', 'app:read', 'idempotent'),
  row('app.parameters', 'GET', '/parameters', 'app:read', 'idempotent'),
  row('app.meta', 'GET', '/meta', 'app:read', 'idempotent'),
  row('app.site', 'GET', '/site', 'app:read', 'idempotent'),
  row('app.end_user', 'GET', '/end-users/:end_user_id', 'app:read', 'idempotent', 'none', { endUserAnswer: true }),
  // §4.9 annotations (app configuration, shared by every team of the app by design)
  row('annotations.list', 'GET', '/apps/annotations', 'annotations', 'idempotent', 'none', {
    query: { page: { int: [1, Number.MAX_SAFE_INTEGER] }, limit: { int: [1, Number.MAX_SAFE_INTEGER] } },
  }),
  row('annotations.create', 'POST', '/apps/annotations', 'annotations', 'unsafe', 'json', { dto: AnnotationDto }),
  row('annotations.update', 'PUT', '/apps/annotations/:annotation_id', 'annotations', 'unsafe', 'json', { dto: AnnotationDto }),
  row('annotations.delete', 'DELETE', '/apps/annotations/:annotation_id', 'annotations', 'unsafe'),
  row('annotations.reply_toggle', 'POST', '/apps/annotation-reply/:action', 'annotations', 'unsafe', 'json', { dto: AnnotationReplyDto }),
  row('annotations.reply_status', 'GET', '/apps/annotation-reply/:action/status/:job_id', 'annotations', 'idempotent'),

  // §5 knowledge bases, with the dataset key; `:dataset_id` must be on the caller's allow-list.
  row(
    'datasets.list',
    'GET',
    '/datasets',
    'datasets',
    'idempotent',
    'none',
    dataset({ listsDatasets: true, query: { page: { int: [1, Number.MAX_SAFE_INTEGER] }, limit: { int: [1, Number.MAX_SAFE_INTEGER] } } }),
  ),
  row('datasets.get', 'GET', '/datasets/:dataset_id', 'datasets', 'idempotent', 'none', dataset()),
  row('datasets.update', 'PATCH', '/datasets/:dataset_id', 'datasets:write', 'unsafe', 'json', dataset()),
  row('datasets.delete', 'DELETE', '/datasets/:dataset_id', 'datasets:write', 'unsafe', 'none', dataset()),
  row('datasets.retrieve', 'POST', '/datasets/:dataset_id/retrieve', 'datasets', 'idempotent', 'json', dataset({ dto: RetrieveDto })),
  row('datasets.hit_testing', 'POST', '/datasets/:dataset_id/hit-testing', 'datasets', 'idempotent', 'json', dataset({ dto: RetrieveDto })),
  row('datasets.tags', 'GET', '/datasets/:dataset_id/tags', 'datasets', 'idempotent', 'none', dataset()),
  row(
    'documents.create_by_text',
    'POST',
    '/datasets/:dataset_id/document/create-by-text',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: DocumentByTextDto }),
  ),
  row(
    'documents.create_by_text_legacy',
    'POST',
    '/datasets/:dataset_id/document/create_by_text',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: DocumentByTextDto }),
  ),
  row('documents.create_by_file', 'POST', '/datasets/:dataset_id/document/create-by-file', 'datasets:write', 'unsafe', 'multipart', dataset()),
  row('documents.create_by_file_legacy', 'POST', '/datasets/:dataset_id/document/create_by_file', 'datasets:write', 'unsafe', 'multipart', dataset()),
  row(
    'documents.list',
    'GET',
    '/datasets/:dataset_id/documents',
    'datasets',
    'idempotent',
    'none',
    dataset({ query: { page: { int: [1, Number.MAX_SAFE_INTEGER] }, limit: { int: [1, Number.MAX_SAFE_INTEGER] } } }),
  ),
  row('documents.get', 'GET', '/datasets/:dataset_id/documents/:document_id', 'datasets', 'idempotent', 'none', dataset()),
  // §13.1: the canonical "update by file", multipart like its aliases below.
  row('documents.update', 'PATCH', '/datasets/:dataset_id/documents/:document_id', 'datasets:write', 'unsafe', 'multipart', dataset()),
  row('documents.delete', 'DELETE', '/datasets/:dataset_id/documents/:document_id', 'datasets:write', 'unsafe', 'none', dataset()),
  row(
    'documents.update_by_text',
    'POST',
    '/datasets/:dataset_id/documents/:document_id/update-by-text',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: DocumentUpdateByTextDto }),
  ),
  row(
    'documents.update_by_text_legacy',
    'POST',
    '/datasets/:dataset_id/documents/:document_id/update_by_text',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: DocumentUpdateByTextDto }),
  ),
  row('documents.update_by_file', 'POST', '/datasets/:dataset_id/documents/:document_id/update-by-file', 'datasets:write', 'unsafe', 'multipart', dataset()),
  row(
    'documents.update_by_file_legacy',
    'POST',
    '/datasets/:dataset_id/documents/:document_id/update_by_file',
    'datasets:write',
    'unsafe',
    'multipart',
    dataset(),
  ),
  row('documents.indexing_status', 'GET', '/datasets/:dataset_id/documents/:batch/indexing-status', 'datasets', 'idempotent', 'none', dataset()),
  row('documents.download', 'GET', '/datasets/:dataset_id/documents/:document_id/download', 'datasets', 'idempotent', 'none', dataset()),
  row('documents.upload_file', 'GET', '/datasets/:dataset_id/documents/:document_id/upload-file', 'datasets', 'idempotent', 'none', dataset()),
  row('documents.download_zip', 'POST', '/datasets/:dataset_id/documents/download-zip', 'datasets', 'idempotent', 'json', dataset()),
  row('documents.set_status', 'PATCH', '/datasets/:dataset_id/documents/status/:document_action', 'datasets:write', 'unsafe', 'json', dataset()),
  row('documents.set_metadata', 'POST', '/datasets/:dataset_id/documents/metadata', 'datasets:write', 'unsafe', 'json', dataset()),
  row(
    'segments.create',
    'POST',
    '/datasets/:dataset_id/documents/:document_id/segments',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: SegmentsCreateDto }),
  ),
  row(
    'segments.list',
    'GET',
    '/datasets/:dataset_id/documents/:document_id/segments',
    'datasets',
    'idempotent',
    'none',
    dataset({ query: { page: { int: [1, Number.MAX_SAFE_INTEGER] }, limit: { int: [1, Number.MAX_SAFE_INTEGER] } } }),
  ),
  row('segments.get', 'GET', '/datasets/:dataset_id/documents/:document_id/segments/:segment_id', 'datasets', 'idempotent', 'none', dataset()),
  row('segments.update', 'POST', '/datasets/:dataset_id/documents/:document_id/segments/:segment_id', 'datasets:write', 'unsafe', 'json', dataset()),
  row('segments.delete', 'DELETE', '/datasets/:dataset_id/documents/:document_id/segments/:segment_id', 'datasets:write', 'unsafe', 'none', dataset()),
  row(
    'child_chunks.create',
    'POST',
    '/datasets/:dataset_id/documents/:document_id/segments/:segment_id/child_chunks',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: ChildChunkDto }),
  ),
  row(
    'child_chunks.list',
    'GET',
    '/datasets/:dataset_id/documents/:document_id/segments/:segment_id/child_chunks',
    'datasets',
    'idempotent',
    'none',
    dataset(),
  ),
  row(
    'child_chunks.update',
    'PATCH',
    '/datasets/:dataset_id/documents/:document_id/segments/:segment_id/child_chunks/:child_chunk_id',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ dto: ChildChunkDto }),
  ),
  row(
    'child_chunks.delete',
    'DELETE',
    '/datasets/:dataset_id/documents/:document_id/segments/:segment_id/child_chunks/:child_chunk_id',
    'datasets:write',
    'unsafe',
    'none',
    dataset(),
  ),
  row('metadata.create', 'POST', '/datasets/:dataset_id/metadata', 'datasets:write', 'unsafe', 'json', dataset({ dto: MetadataCreateDto })),
  row('metadata.list', 'GET', '/datasets/:dataset_id/metadata', 'datasets', 'idempotent', 'none', dataset()),
  row('metadata.update', 'PATCH', '/datasets/:dataset_id/metadata/:metadata_id', 'datasets:write', 'unsafe', 'json', dataset({ dto: MetadataUpdateDto })),
  row('metadata.delete', 'DELETE', '/datasets/:dataset_id/metadata/:metadata_id', 'datasets:write', 'unsafe', 'none', dataset()),
  row('metadata.built_in', 'GET', '/datasets/:dataset_id/metadata/built-in', 'datasets', 'idempotent', 'none', dataset()),
  row('metadata.built_in_toggle', 'POST', '/datasets/:dataset_id/metadata/built-in/:action', 'datasets:write', 'unsafe', 'none', dataset()),
  // §13.2 per-dataset pipeline routes: they act on one knowledge base (its allow-list applies).
  row('pipeline.datasource_plugins', 'GET', '/datasets/:dataset_id/pipeline/datasource-plugins', 'datasets', 'idempotent', 'none', dataset()),
  row(
    'pipeline.node_run',
    'POST',
    '/datasets/:dataset_id/pipeline/datasource/nodes/:node_id/run',
    'datasets:write',
    'unsafe',
    'json',
    dataset({ stream: true }),
  ),
  row('pipeline.run', 'POST', '/datasets/:dataset_id/pipeline/run', 'datasets:write', 'unsafe', 'json', dataset({ stream: true })),

  // Workspace-wide knowledge endpoints: they are not about one knowledge base (they create one,
  // or touch the workspace's tags, models or uploads), so only keys given `datasets:workspace`
  // reach them; no team key has it by default.
  row('datasets.create', 'POST', '/datasets', 'datasets:workspace', 'unsafe', 'json', dataset({ dto: DatasetCreateDto })),
  row('tags.list', 'GET', '/datasets/tags', 'datasets:workspace', 'idempotent', 'none', dataset()),
  row('tags.create', 'POST', '/datasets/tags', 'datasets:workspace', 'unsafe', 'json', dataset()),
  row('tags.update', 'PATCH', '/datasets/tags', 'datasets:workspace', 'unsafe', 'json', dataset()),
  row('tags.delete', 'DELETE', '/datasets/tags', 'datasets:workspace', 'unsafe', 'json', dataset()),
  row('tags.bind', 'POST', '/datasets/tags/binding', 'datasets:workspace', 'unsafe', 'json', dataset()),
  row('tags.unbind', 'POST', '/datasets/tags/unbinding', 'datasets:workspace', 'unsafe', 'json', dataset()),
  row('models.by_type', 'GET', '/workspaces/current/models/model-types/:model_type', 'datasets:workspace', 'idempotent', 'none', dataset()),
  row('pipeline.file_upload', 'POST', '/datasets/pipeline/file-upload', 'datasets:workspace', 'unsafe', 'multipart', dataset()),
];
