import type { Scope } from '../auth/scopes.js';
import {
  ChatMessageDto,
  CompletionMessageDto,
  StopTaskDto,
  WorkflowRunDto,
} from './dto/generation.dto.js';
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

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How a failed call may be repeated:
 * - `idempotent`: repeating it cannot change anything (reads, stops);
 * - `unsafe`: it may spend tokens or create data, so it is repeated only when the failure
 *   proves Dify did not run it.
 */
export type RetryClass = 'idempotent' | 'unsafe';

export type BodyKind = 'none' | 'json' | 'multipart';

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
}

const row = (
  name: string,
  method: HttpMethod,
  path: string,
  scope: Scope,
  retry: RetryClass,
  body: BodyKind = 'none',
  extra: Pick<DifyRoute, 'dto' | 'stream'> = {},
): DifyRoute => ({ name, method, path, scope, retry, body, ...extra });

/** Every Dify Service API endpoint the gateway exposes for app keys (contract §4). */
export const DIFY_ROUTES: readonly DifyRoute[] = [
  // §4.1 generation
  row('chat.create', 'POST', '/chat-messages', 'chat', 'unsafe', 'json', { dto: ChatMessageDto, stream: true }),
  row('chat.stop', 'POST', '/chat-messages/:task_id/stop', 'chat', 'idempotent', 'json', { dto: StopTaskDto }),
  row('completion.create', 'POST', '/completion-messages', 'chat', 'unsafe', 'json', { dto: CompletionMessageDto, stream: true }),
  row('completion.stop', 'POST', '/completion-messages/:task_id/stop', 'chat', 'idempotent', 'json', { dto: StopTaskDto }),
  row('workflow.run', 'POST', '/workflows/run', 'workflow', 'unsafe', 'json', { dto: WorkflowRunDto, stream: true }),
  row('workflow.run_version', 'POST', '/workflows/:workflow_id/run', 'workflow', 'unsafe', 'json', { dto: WorkflowRunDto, stream: true }),
  row('workflow.stop', 'POST', '/workflows/tasks/:task_id/stop', 'workflow', 'idempotent', 'json', { dto: StopTaskDto }),
  // §4.2 workflow runs
  row('workflow.get_run', 'GET', '/workflows/run/:workflow_run_id', 'workflow', 'idempotent'),
  row('workflow.logs', 'GET', '/workflows/logs', 'workflow', 'idempotent'),
  row('workflow.events', 'GET', '/workflow/:workflow_run_id/events', 'workflow', 'idempotent', 'none', { stream: true }),
  // §4.3 human input
  row('form.get', 'GET', '/form/human_input/:form_token', 'workflow', 'idempotent'),
  row('form.submit', 'POST', '/form/human_input/:form_token', 'workflow', 'unsafe', 'json', { dto: HumanInputSubmitDto }),
  // §4.4 files
  row('files.upload', 'POST', '/files/upload', 'files', 'unsafe', 'multipart'),
  row('files.preview', 'GET', '/files/:file_id/preview', 'files', 'idempotent'),
  // §4.5 messages, feedback, suggestions
  row('messages.list', 'GET', '/messages', 'conversations', 'idempotent'),
  row('messages.feedback', 'POST', '/messages/:message_id/feedbacks', 'feedback', 'unsafe', 'json', { dto: FeedbackDto }),
  row('feedbacks.list', 'GET', '/app/feedbacks', 'feedback', 'idempotent'),
  row('messages.suggested', 'GET', '/messages/:message_id/suggested', 'chat', 'idempotent'),
  // §4.6 conversations
  row('conversations.list', 'GET', '/conversations', 'conversations', 'idempotent'),
  row('conversations.delete', 'DELETE', '/conversations/:conversation_id', 'conversations', 'unsafe', 'json', { dto: DeleteConversationDto }),
  row('conversations.rename', 'POST', '/conversations/:conversation_id/name', 'conversations', 'unsafe', 'json', { dto: RenameConversationDto }),
  row('conversations.variables', 'GET', '/conversations/:conversation_id/variables', 'conversations', 'idempotent'),
  row('conversations.update_variable', 'PUT', '/conversations/:conversation_id/variables/:variable_id', 'conversations', 'unsafe', 'json', { dto: UpdateVariableDto }),
  // §4.7 audio
  row('audio.to_text', 'POST', '/audio-to-text', 'audio', 'unsafe', 'multipart'),
  row('audio.from_text', 'POST', '/text-to-audio', 'audio', 'unsafe', 'json', { dto: TextToAudioDto }),
  // §4.8 app metadata
  row('app.welcome', 'GET', '/', 'app:read', 'idempotent'),
  row('app.info', 'GET', '/info', 'app:read', 'idempotent'),
  row('app.parameters', 'GET', '/parameters', 'app:read', 'idempotent'),
  row('app.meta', 'GET', '/meta', 'app:read', 'idempotent'),
  row('app.site', 'GET', '/site', 'app:read', 'idempotent'),
  row('app.end_user', 'GET', '/end-users/:end_user_id', 'app:read', 'idempotent'),
  // §4.9 annotations
  row('annotations.list', 'GET', '/apps/annotations', 'annotations', 'idempotent'),
  row('annotations.create', 'POST', '/apps/annotations', 'annotations', 'unsafe', 'json', { dto: AnnotationDto }),
  row('annotations.update', 'PUT', '/apps/annotations/:annotation_id', 'annotations', 'unsafe', 'json', { dto: AnnotationDto }),
  row('annotations.delete', 'DELETE', '/apps/annotations/:annotation_id', 'annotations', 'unsafe'),
  row('annotations.reply_toggle', 'POST', '/apps/annotation-reply/:action', 'annotations', 'unsafe', 'json', { dto: AnnotationReplyDto }),
  row('annotations.reply_status', 'GET', '/apps/annotation-reply/:action/status/:job_id', 'annotations', 'idempotent'),
];
