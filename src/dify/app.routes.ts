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
import { row, JSON_USER, QUERY_USER, FORM_USER, PAGE, REQUIRED_USER, RUN_STATUSES, CONVERSATION_SORTS, type DifyRoute } from './dify-route.js';

/** The app-key endpoints (contract §4), in the contract's order. */
export const APP_ROUTES: readonly DifyRoute[] = [
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
];
