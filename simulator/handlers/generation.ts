/**
 * POST /chat-messages, /completion-messages, /workflows/run, /workflows/{workflow_id}/run and the three
 * stop endpoints (SERVICE_API.md §4.1). Validation order follows Dify: key → user/JSON → app mode →
 * payload → concurrency limit (429, before any stream) → conversation lookup → generation.
 */
import { jsonBody, userFromJson } from '../body.js';
import type { AppContext } from '../context.js';
import { invalidParam, tooManyRequests, validationError } from '../errors.js';
import { runChatAnswer } from '../generation/chat-run.js';
import type { Usage } from '../generation/usage.js';
import { WorkflowExecution } from '../generation/workflow-run.js';
import { DiscardingSink, type EventSink } from '../sse.js';
import type { AppRecord, Message, SimulatorState, Task, WorkflowRun } from '../state.js';
import { isUuid, laxBool, toSeconds } from '../util.js';
import { requireChatApp, requireCompletionApp, requireWorkflowApp } from './mode-guards.js';
import { checkFileReferences, isStreaming, optionalString, requireInputs, requireString, resolveWorkflowId } from './payload.js';
import { conversationNameFor, createConversation, createMessage, createRun, findConversation } from './records.js';

/** Runs `generate` against an SSE response (streaming) or a sink that drops the events (blocking). */
async function withSink<T>(ctx: AppContext, streaming: boolean, generate: (sink: EventSink) => Promise<T>): Promise<T> {
  if (!streaming) return generate(new DiscardingSink());
  const stream = ctx.sse();
  try {
    return await generate(stream);
  } finally {
    stream.end();
  }
}

/** Holds one of the app's concurrency slots while `work` runs; 429 when none is free. */
async function withSlot(state: SimulatorState, app: AppRecord, work: () => Promise<void>): Promise<void> {
  if (!state.tryAcquire(app)) throw tooManyRequests(app.name, app.maxActiveRequests);
  try {
    await work();
  } finally {
    state.release(app);
  }
}

function blockingMessage(app: AppRecord, task: Task, message: Message, usage: Usage | null) {
  return {
    event: 'message',
    task_id: task.id,
    id: message.id,
    message_id: message.id,
    ...(message.conversationId !== null ? { conversation_id: message.conversationId } : {}),
    mode: app.mode,
    answer: message.answer,
    metadata: { usage, retriever_resources: [] },
    created_at: toSeconds(message.createdAt),
  };
}

function blockingRun(task: Task, run: WorkflowRun) {
  return {
    task_id: task.id,
    workflow_run_id: run.id,
    data: {
      id: run.id,
      workflow_id: run.workflowId,
      status: run.status,
      outputs: run.status === 'paused' ? {} : run.outputs,
      error: run.error,
      elapsed_time: ((run.finishedAt ?? Date.now()) - run.createdAt) / 1000,
      total_tokens: run.totalTokens,
      total_steps: run.totalSteps,
      created_at: toSeconds(run.createdAt),
      finished_at: run.finishedAt === null ? null : toSeconds(run.finishedAt),
    },
  };
}

export async function createChatMessage(ctx: AppContext): Promise<void> {
  const model = 'ChatRequestPayload';
  const { app, sim } = ctx;
  const { state } = sim;
  const body = jsonBody(ctx, model);
  const user = userFromJson(body, true);
  requireChatApp(app);
  const query = requireString(body, 'query', model);
  const inputs = requireInputs(body, model);
  const streaming = isStreaming(body, model);
  // Dify strips it first: blank is "no conversation" (§13.3).
  const conversationId = (optionalString(body, 'conversation_id', model) ?? '').trim();
  if (conversationId !== '' && !isUuid(conversationId)) throw validationError(model, 'conversation_id', 'Value error, conversation_id must be a valid UUID');
  if (body.auto_generate_name !== undefined && laxBool(body.auto_generate_name) === undefined) {
    throw validationError(model, 'auto_generate_name', 'Input should be a valid boolean');
  }
  const requestedWorkflow = optionalString(body, 'workflow_id', model); // a str in every app mode
  const workflowId = app.mode === 'advanced-chat' ? resolveWorkflowId(app, requestedWorkflow) : app.workflowId;
  if (app.mode === 'agent-chat' && !streaming) throw invalidParam('Agent Chat App does not support blocking mode');
  const endUser = state.endUser(app, user);
  const files = checkFileReferences(state, app, endUser, body.files, inputs);

  await withSlot(state, app, async () => {
    const conversation = conversationId
      ? findConversation(state, app, endUser, conversationId)
      : createConversation(state, app, endUser, inputs, conversationNameFor(query, laxBool(body.auto_generate_name) !== false));
    const message = createMessage(state, app, endUser, conversation, conversation.inputs, query, files);
    const task = state.startTask(app, endUser, 'chat');
    let usage: Usage | null;
    if (app.mode === 'advanced-chat') {
      const run = createRun(state, app, endUser, task, inputs, workflowId);
      const execution = new WorkflowExecution({ sim, app, endUser, task, run, chat: { conversation, message } });
      await withSink(ctx, streaming, (sink) => execution.start(sink, ctx.signal));
      usage = execution.finalUsage;
    } else {
      usage = await withSink(ctx, streaming, (sink) => runChatAnswer({ sim, app, task, message, conversation, sink, signal: ctx.signal }));
      state.finishTask(task);
    }
    if (!streaming) ctx.json(200, blockingMessage(app, task, message, usage));
  });
}

export async function createCompletionMessage(ctx: AppContext): Promise<void> {
  const model = 'CompletionRequestPayload';
  const { app, sim } = ctx;
  const { state } = sim;
  const body = jsonBody(ctx, model);
  const user = userFromJson(body, true);
  requireCompletionApp(app);
  const inputs = requireInputs(body, model);
  const query = optionalString(body, 'query', model) ?? '';
  const streaming = isStreaming(body, model);
  const endUser = state.endUser(app, user);
  const files = checkFileReferences(state, app, endUser, body.files, inputs);

  await withSlot(state, app, async () => {
    const message = createMessage(state, app, endUser, null, inputs, query, files);
    const task = state.startTask(app, endUser, 'completion');
    const usage = await withSink(ctx, streaming, (sink) => runChatAnswer({ sim, app, task, message, conversation: null, sink, signal: ctx.signal }));
    state.finishTask(task);
    if (!streaming) ctx.json(200, blockingMessage(app, task, message, usage));
  });
}

/** POST /workflows/run and POST /workflows/{workflow_id}/run. */
export async function runWorkflow(ctx: AppContext): Promise<void> {
  const model = 'WorkflowRunPayload';
  const { app, sim } = ctx;
  const { state } = sim;
  const body = jsonBody(ctx, model);
  const user = userFromJson(body, true);
  requireWorkflowApp(app);
  const inputs = requireInputs(body, model);
  const streaming = isStreaming(body, model);
  // The payload is validated before the workflow is looked up.
  if (body.files !== undefined && body.files !== null && !Array.isArray(body.files)) throw validationError(model, 'files', 'Input should be a valid list');
  const workflowId = resolveWorkflowId(app, ctx.params.workflow_id);
  const endUser = state.endUser(app, user);
  checkFileReferences(state, app, endUser, body.files, inputs);

  await withSlot(state, app, async () => {
    const task = state.startTask(app, endUser, 'workflow');
    const run = createRun(state, app, endUser, task, inputs, workflowId);
    const execution = new WorkflowExecution({ sim, app, endUser, task, run });
    await withSink(ctx, streaming, (sink) => execution.start(sink, ctx.signal));
    if (!streaming) ctx.json(200, blockingRun(task, run));
  });
}

/**
 * The stop endpoints: always `{"result":"success"}`. A running task of this app is stopped, unless
 * `checkUser` is set and `user` is not the one who started it (then nothing happens, like Dify).
 */
function stopTask(ctx: AppContext, kind: Task['kind'], checkUser: boolean): void {
  const { app, sim } = ctx;
  const body = jsonBody(ctx, 'StopPayload');
  const user = userFromJson(body, true);
  if (kind === 'chat') requireChatApp(app);
  else if (kind === 'completion') requireCompletionApp(app);
  else requireWorkflowApp(app);
  const endUser = sim.state.endUser(app, user);
  const task = sim.state.tasks.get(ctx.params.task_id);
  if (task && task.appId === app.id && task.kind === kind && (!checkUser || task.endUserId === endUser.id)) {
    task.stopped = true;
    task.controller.abort();
    task.onStop?.();
  }
  ctx.json(200, { result: 'success' });
}

export const stopChatMessage = (ctx: AppContext) => stopTask(ctx, 'chat', true);
export const stopCompletionMessage = (ctx: AppContext) => stopTask(ctx, 'completion', true);
export const stopWorkflowTask = (ctx: AppContext) => stopTask(ctx, 'workflow', false);
