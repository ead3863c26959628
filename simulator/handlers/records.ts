/** Creating and finding records within one app and one end user (the `user` scoping of SERVICE_API.md §7). */
import { notFound } from '../errors.js';
import type { AppRecord, Conversation, EndUser, Message, SimulatorState, Task, WorkflowRun } from '../state.js';
import { newId } from '../util.js';

export function findConversation(state: SimulatorState, app: AppRecord, endUser: EndUser, id: string): Conversation {
  const conversation = state.conversations.get(id.toLowerCase());
  if (!conversation || conversation.appId !== app.id || conversation.endUserId !== endUser.id) {
    throw notFound('Conversation Not Exists.');
  }
  return conversation;
}

export function createConversation(state: SimulatorState, app: AppRecord, endUser: EndUser, inputs: Record<string, unknown>, name: string): Conversation {
  const now = Date.now();
  const conversation: Conversation = {
    id: newId(),
    appId: app.id,
    endUserId: endUser.id,
    name,
    inputs,
    createdAt: now,
    updatedAt: now,
    seq: state.nextSeq(),
    variables: [
      { id: newId(), name: 'topic', valueType: 'string', value: '', description: 'What the conversation is about', createdAt: now, updatedAt: now },
      { id: newId(), name: 'preferences', valueType: 'object', value: {}, description: 'User preferences', createdAt: now, updatedAt: now },
    ],
  };
  state.conversations.set(conversation.id, conversation);
  return conversation;
}

/** A conversation name as Dify would auto-generate it (here: the start of the first query). */
export function conversationNameFor(query: string, autoGenerate: boolean): string {
  if (!autoGenerate || query.trim() === '') return 'New conversation';
  const trimmed = query.trim();
  return trimmed.length > 30 ? `${trimmed.slice(0, 30)}...` : trimmed;
}

/** Messages of a conversation, oldest first. */
export function conversationMessages(state: SimulatorState, conversationId: string): Message[] {
  return [...state.messages.values()].filter((m) => m.conversationId === conversationId).sort((a, b) => a.seq - b.seq);
}

export function createMessage(
  state: SimulatorState,
  app: AppRecord,
  endUser: EndUser,
  conversation: Conversation | null,
  inputs: Record<string, unknown>,
  query: string,
  files: unknown[],
): Message {
  const previous = conversation ? conversationMessages(state, conversation.id).at(-1) : undefined;
  const message: Message = {
    id: newId(),
    appId: app.id,
    conversationId: conversation?.id ?? null,
    endUserId: endUser.id,
    parentMessageId: previous?.id ?? null,
    inputs,
    query,
    answer: '',
    status: 'normal',
    error: null,
    files: files.map((file) => ({ id: newId(), belongs_to: 'user', ...(file as object) })),
    feedback: null,
    createdAt: Date.now(),
    seq: state.nextSeq(),
  };
  state.messages.set(message.id, message);
  return message;
}

/** A message of this app that `endUser` may see; 404 `Message Not Exists.` otherwise. */
export function findMessage(state: SimulatorState, app: AppRecord, endUser: EndUser, id: string): Message {
  const message = state.messages.get(id.toLowerCase());
  if (!message || message.appId !== app.id || message.endUserId !== endUser.id) throw notFound('Message Not Exists.');
  return message;
}

export function createRun(
  state: SimulatorState,
  app: AppRecord,
  endUser: EndUser,
  task: Task,
  inputs: Record<string, unknown>,
  workflowId: string,
): WorkflowRun {
  const run: WorkflowRun = {
    id: newId(),
    appId: app.id,
    workflowId,
    endUserId: endUser.id,
    inputs,
    status: 'running',
    outputs: {},
    error: null,
    totalSteps: 0,
    totalTokens: 0,
    createdAt: Date.now(),
    finishedAt: null,
    taskId: task.id,
    seq: state.nextSeq(),
    listeners: new Set(),
    lastTerminalEvent: null,
  };
  state.runs.set(run.id, run);
  return run;
}
