/** JSON shapes of stored records, as the Service API returns them (SERVICE_API.md §4). */
import type { Annotation, AppRecord, Conversation, ConversationVariable, EndUser, Feedback, Message, UploadedFile, WorkflowRun } from '../state.js';
import { toSeconds } from '../util.js';

export function presentConversation(conversation: Conversation) {
  return {
    id: conversation.id,
    name: conversation.name,
    inputs: conversation.inputs,
    status: 'normal',
    introduction: '',
    created_at: toSeconds(conversation.createdAt),
    updated_at: toSeconds(conversation.updatedAt),
  };
}

export function presentMessage(message: Message) {
  return {
    id: message.id,
    conversation_id: message.conversationId,
    parent_message_id: message.parentMessageId,
    inputs: message.inputs,
    query: message.query,
    answer: message.answer,
    status: message.status,
    error: message.error,
    message_files: message.files,
    feedback: message.feedback ? { rating: message.feedback.rating } : null,
    retriever_resources: [],
    agent_thoughts: [],
    created_at: toSeconds(message.createdAt),
    extra_contents: [],
  };
}

export function presentFeedback(feedback: Feedback) {
  return {
    id: feedback.id,
    app_id: feedback.appId,
    conversation_id: feedback.conversationId,
    message_id: feedback.messageId,
    rating: feedback.rating,
    content: feedback.content,
    from_source: 'user',
    from_end_user_id: feedback.fromEndUserId,
    from_account_id: null,
    created_at: new Date(feedback.createdAt).toISOString(),
    updated_at: new Date(feedback.updatedAt).toISOString(),
  };
}

/** Complex values are JSON strings in the API, as Dify stores them. */
export function presentVariable(variable: ConversationVariable) {
  return {
    id: variable.id,
    name: variable.name,
    value_type: variable.valueType,
    value: typeof variable.value === 'string' ? variable.value : JSON.stringify(variable.value),
    description: variable.description,
    created_at: toSeconds(variable.createdAt),
    updated_at: toSeconds(variable.updatedAt),
  };
}

export function presentUpload(file: UploadedFile, app: AppRecord, origin: string) {
  const timestamp = toSeconds(file.createdAt);
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    extension: file.extension,
    mime_type: file.mimeType,
    created_by: file.endUserId,
    created_at: timestamp,
    preview_url: null,
    source_url: `${origin}/files/${file.id}/file-preview?timestamp=${timestamp}&nonce=simulator&sign=simulator`,
    original_url: null,
    user_id: null,
    tenant_id: app.id,
    conversation_id: null,
    file_key: null,
    reference: null,
  };
}

/** GET /workflows/run/{id}: note that `inputs` is a JSON string. */
export function presentRun(run: WorkflowRun) {
  return {
    id: run.id,
    workflow_id: run.workflowId,
    status: run.status,
    inputs: JSON.stringify(run.inputs),
    outputs: run.status === 'paused' ? {} : run.outputs,
    error: run.error,
    total_steps: run.totalSteps,
    total_tokens: run.totalTokens,
    created_at: toSeconds(run.createdAt),
    finished_at: run.finishedAt === null ? null : toSeconds(run.finishedAt),
    elapsed_time: ((run.finishedAt ?? Date.now()) - run.createdAt) / 1000,
  };
}

export function presentWorkflowLog(run: WorkflowRun, endUser: EndUser | undefined) {
  return {
    id: run.id,
    workflow_run: {
      id: run.id,
      version: '2026-01-01 00:00:00.000000',
      status: run.status,
      error: run.error,
      elapsed_time: ((run.finishedAt ?? Date.now()) - run.createdAt) / 1000,
      total_tokens: run.totalTokens,
      total_steps: run.totalSteps,
      created_at: toSeconds(run.createdAt),
      finished_at: run.finishedAt === null ? null : toSeconds(run.finishedAt),
      exceptions_count: 0,
      triggered_from: 'app-run',
    },
    created_from: 'service-api',
    created_by_role: 'end_user',
    created_by_account: null,
    created_by_end_user: endUser ? { id: endUser.id, type: 'service_api', is_anonymous: endUser.isAnonymous, session_id: endUser.sessionId } : null,
    created_at: toSeconds(run.createdAt),
    details: null,
  };
}

export function presentAnnotation(annotation: Annotation) {
  return {
    id: annotation.id,
    question: annotation.question,
    answer: annotation.answer,
    hit_count: annotation.hitCount,
    created_at: toSeconds(annotation.createdAt),
  };
}

export function presentEndUser(endUser: EndUser, app: AppRecord) {
  return {
    id: endUser.id,
    tenant_id: app.id,
    app_id: app.id,
    type: 'service-api',
    external_user_id: endUser.sessionId,
    name: null,
    is_anonymous: endUser.isAnonymous,
    session_id: endUser.sessionId,
    created_at: new Date(endUser.createdAt).toISOString(),
    updated_at: new Date(endUser.createdAt).toISOString(),
  };
}
