/**
 * Answer generation for chat, agent-chat and completion apps (SERVICE_API.md §3 event order):
 * `message`×N → `message_end`; agents send `agent_thought` around `agent_message`×N.
 * The same run serves blocking mode through a DiscardingSink.
 */
import type { SimulatorRuntime } from '../context.js';
import type { EventSink } from '../sse.js';
import type { AppRecord, Conversation, Message, Task } from '../state.js';
import { newId, sleep, splitIntoWords, toSeconds } from '../util.js';
import { buildUsage, type Usage } from './usage.js';

export interface ChatRunInput {
  sim: SimulatorRuntime;
  app: AppRecord;
  task: Task;
  message: Message;
  conversation: Conversation | null;
  sink: EventSink;
  /** Client gone or simulator closing: finish without further delays. */
  signal: AbortSignal;
}

/** Fields on every event of a chat-family (or completion) stream, `task_id` included. */
export function messageEventBase(task: Task, message: Message): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  if (message.conversationId !== null) base.conversation_id = message.conversationId;
  base.message_id = message.id;
  base.created_at = toSeconds(message.createdAt);
  base.task_id = task.id;
  return base;
}

export async function runChatAnswer(input: ChatRunInput): Promise<Usage> {
  const { sim, app, task, message, conversation, sink } = input;
  const startedAt = Date.now();
  const base = messageEventBase(task, message);
  const signal = AbortSignal.any([task.controller.signal, input.signal]);
  const emit = (event: string, fields: Record<string, unknown>) => sink.send({ event, ...base, ...fields });
  const isAgent = app.mode === 'agent-chat';
  const thoughtId = newId();
  const thought = (position: number, text: string) =>
    emit('agent_thought', {
      id: thoughtId,
      position,
      thought: text,
      observation: '',
      tool: '',
      tool_labels: {},
      tool_input: '',
      message_files: [],
    });

  if (isAgent) thought(1, '');
  for (const chunk of splitIntoWords(sim.answer)) {
    await sleep(sim.streamChunkDelayMs, signal);
    if (task.stopped) break;
    message.answer += chunk;
    emit(isAgent ? 'agent_message' : 'message', { id: message.id, answer: chunk });
  }
  if (isAgent) thought(1, message.answer);

  const usage = buildUsage(message.query || JSON.stringify(message.inputs), message.answer, startedAt);
  const end: Record<string, unknown> = { id: message.id, metadata: { usage, retriever_resources: [] } };
  if (conversation === null) end.files = [];
  emit('message_end', end);
  if (conversation) conversation.updatedAt = Date.now();
  return usage;
}
