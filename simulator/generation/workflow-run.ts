/**
 * A simulated workflow (workflow apps) or chatflow (advanced-chat apps) run:
 * workflow_started → node_started/node_finished (start) → [human input pause] → LLM node streaming
 * `text_chunk` (workflow) or `message` (chatflow) → end/answer node → [message_end] → workflow_finished.
 * Every event also goes to the run's subscribers (GET /workflow/{id}/events).
 */
import type { EventSink } from '../sse.js';
import type { HumanInputForm, SseEvent } from '../state.js';
import { newId, randomAlnum, sleep, splitIntoWords, toSeconds } from '../util.js';
import { messageEventBase } from './chat-run.js';
import { buildUsage, type Usage } from './usage.js';
import {
  FORM_LIFETIME_MS,
  HUMAN_INPUT_DIRECTIVE,
  HUMAN_INPUT_FORM,
  type NodeSpec,
  type WorkflowOutcome,
  type WorkflowRunInput,
} from './workflow-definition.js';

export class WorkflowExecution {
  private readonly nodes: NodeSpec[];
  private nextNode = 0;
  private nodeIndex = 0;
  private predecessor: string | null = null;
  private sink: EventSink | null = null;
  private usage: Usage | null = null;
  /** The human-input node's execution while the run is paused. */
  private currentNodeExecution: { id: string; index: number; startedAt: number } | null = null;
  private readonly startedAt = Date.now();

  constructor(private readonly input: WorkflowRunInput) {
    const pause = Boolean(input.run.inputs[HUMAN_INPUT_DIRECTIVE]);
    this.nodes = [
      { id: 'start', type: 'start', title: 'Start' },
      ...(pause ? [{ id: 'human_input', type: 'human-input', title: 'Human Input' }] : []),
      { id: 'llm', type: 'llm', title: 'LLM' },
      input.chat ? { id: 'answer', type: 'answer', title: 'Answer' } : { id: 'end', type: 'end', title: 'End' },
    ];
  }

  /** Runs until the end or a pause, writing to `sink` (the POST's response) and to subscribers. */
  async start(sink: EventSink, signal: AbortSignal): Promise<WorkflowOutcome> {
    this.sink = sink;
    const { run } = this.input;
    this.emitWorkflow('workflow_started', {
      data: {
        id: run.id,
        workflow_id: run.workflowId,
        inputs: run.inputs,
        created_at: toSeconds(run.createdAt),
        reason: 'initial',
        sequence_number: run.seq,
      },
    });
    return this.proceed(signal);
  }

  /** Continues a paused run after its form was submitted; only subscribers see these events. */
  async resume(formInputs: Record<string, unknown>, action: string): Promise<void> {
    const { run, sim, task } = this.input;
    this.sink = null;
    task.onStop = undefined;
    run.status = 'running';
    run.lastTerminalEvent = null;
    this.emitWorkflow('workflow_started', {
      data: {
        id: run.id,
        workflow_id: run.workflowId,
        inputs: run.inputs,
        created_at: toSeconds(run.createdAt),
        reason: 'resumption',
      },
    });
    const node = this.nodes[this.nextNode - 1];
    const actionSpec = HUMAN_INPUT_FORM.actions.find((a) => a.id === action);
    this.emitWorkflow('human_input_form_filled', {
      data: {
        node_id: node.id,
        node_title: node.title,
        rendered_content: HUMAN_INPUT_FORM.form_content.replace('{{#$output.comment#}}', String(formInputs.comment ?? '')),
        action_id: action,
        action_text: actionSpec?.title ?? action,
        submitted_data: formInputs,
      },
    });
    this.finishNode(node, this.currentNodeExecution!, { ...formInputs, __action_id: action });
    await this.proceed(sim.closing);
  }

  private async proceed(signal: AbortSignal): Promise<WorkflowOutcome> {
    const { task } = this.input;
    const combined = AbortSignal.any([task.controller.signal, signal]);
    while (this.nextNode < this.nodes.length && !task.stopped) {
      const node = this.nodes[this.nextNode++];
      const execution = this.startNode(node);
      if (node.type === 'human-input') {
        this.currentNodeExecution = execution;
        this.pause(node);
        return 'paused';
      }
      if (node.type === 'llm') {
        const text = await this.streamAnswer(combined);
        this.finishNode(node, execution, { text }, task.stopped ? 'stopped' : 'succeeded');
      } else {
        this.finishNode(node, execution, node.type === 'start' ? this.input.run.inputs : { answer: this.answerText() });
      }
    }
    this.finish(task.stopped ? 'stopped' : 'succeeded');
    return 'finished';
  }

  private answerText(): string {
    return this.input.chat ? this.input.chat.message.answer : String(this.input.run.outputs.answer ?? '');
  }

  private async streamAnswer(signal: AbortSignal): Promise<string> {
    const { sim, task, run, chat } = this.input;
    let text = '';
    for (const chunk of splitIntoWords(sim.answer)) {
      await sleep(sim.streamChunkDelayMs, signal);
      if (task.stopped) break;
      text += chunk;
      if (chat) {
        chat.message.answer += chunk;
        this.emitMessage('message', { id: chat.message.id, answer: chunk, from_variable_selector: ['llm', 'text'] });
      } else {
        run.outputs = { answer: text };
        this.emitWorkflow('text_chunk', { data: { text: chunk, from_variable_selector: ['llm', 'text'] } });
      }
    }
    const prompt = chat ? chat.message.query : JSON.stringify(run.inputs);
    this.usage = buildUsage(prompt, text, this.startedAt);
    return text;
  }

  private startNode(node: NodeSpec): { id: string; index: number; startedAt: number } {
    const execution = { id: newId(), index: ++this.nodeIndex, startedAt: Date.now() };
    this.input.run.totalSteps = execution.index;
    this.emitWorkflow('node_started', { data: this.nodeData(node, execution) });
    return execution;
  }

  private finishNode(
    node: NodeSpec,
    execution: { id: string; index: number; startedAt: number },
    outputs: Record<string, unknown>,
    status = 'succeeded',
  ): void {
    const usage = node.type === 'llm' ? this.usage : null;
    this.emitWorkflow('node_finished', {
      data: {
        ...this.nodeData(node, execution),
        process_data: null,
        process_data_truncated: false,
        outputs,
        outputs_truncated: false,
        status,
        error: null,
        elapsed_time: (Date.now() - execution.startedAt) / 1000,
        execution_metadata: usage ? { total_tokens: usage.total_tokens, total_price: usage.total_price, currency: usage.currency } : null,
        finished_at: toSeconds(Date.now()),
        files: [],
      },
    });
    this.predecessor = node.id;
  }

  private nodeData(node: NodeSpec, execution: { id: string; index: number; startedAt: number }) {
    return {
      id: execution.id,
      node_id: node.id,
      node_type: node.type,
      title: node.title,
      index: execution.index,
      predecessor_node_id: this.predecessor,
      inputs: node.type === 'start' ? this.input.run.inputs : {},
      inputs_truncated: false,
      created_at: toSeconds(execution.startedAt),
      extras: {},
      iteration_id: null,
      loop_id: null,
    };
  }

  private pause(node: NodeSpec): void {
    const { sim, app, run } = this.input;
    const token = randomAlnum(22);
    const formId = newId();
    const expiresAt = Date.now() + FORM_LIFETIME_MS;
    const form: HumanInputForm = {
      token,
      appId: app.id,
      runId: run.id,
      nodeId: node.id,
      expiresAt,
      state: 'waiting',
      resume: (inputs, action) => {
        this.resume(inputs, action).catch((err: unknown) => console.error('[dify-simulator] resume failed:', err));
      },
    };
    sim.state.forms.set(token, form);
    this.emitWorkflow('human_input_required', {
      data: {
        form_id: formId,
        node_id: node.id,
        node_title: node.title,
        form_content: HUMAN_INPUT_FORM.form_content,
        inputs: HUMAN_INPUT_FORM.inputs,
        actions: HUMAN_INPUT_FORM.actions,
        display_in_ui: true,
        form_token: token,
        resolved_default_values: {},
        expiration_time: toSeconds(expiresAt),
      },
    });
    run.status = 'paused';
    const paused: Record<string, unknown> = {
      data: {
        workflow_run_id: run.id,
        paused_nodes: [node.id],
        outputs: {},
        reasons: [{ type: 'human_input_required', form_id: formId, node_id: node.id }],
        status: 'paused',
        created_at: toSeconds(run.createdAt),
        elapsed_time: (Date.now() - run.createdAt) / 1000,
        total_tokens: run.totalTokens,
        total_steps: run.totalSteps,
      },
    };
    run.lastTerminalEvent = this.emitWorkflow('workflow_paused', paused);
    this.input.task.onStop = () => {
      form.state = 'expired';
      this.finish('stopped');
    };
  }

  private finish(status: 'succeeded' | 'stopped'): void {
    const { sim, run, chat, endUser, task } = this.input;
    const now = Date.now();
    const usage = this.usage ?? buildUsage(chat ? chat.message.query : '', '', this.startedAt);
    run.status = status;
    run.totalTokens = usage.total_tokens;
    run.finishedAt = now;
    run.outputs = { answer: this.answerText() };
    if (chat) {
      this.emitMessage('message_end', { id: chat.message.id, metadata: { usage, retriever_resources: [] } });
      chat.conversation.updatedAt = now;
    }
    run.lastTerminalEvent = this.emitWorkflow('workflow_finished', {
      data: {
        id: run.id,
        workflow_id: run.workflowId,
        status,
        outputs: run.outputs,
        error: null,
        elapsed_time: (now - run.createdAt) / 1000,
        total_tokens: run.totalTokens,
        total_steps: run.totalSteps,
        created_by: { id: endUser.id, user: endUser.sessionId },
        created_at: toSeconds(run.createdAt),
        finished_at: toSeconds(now),
        exceptions_count: 0,
        files: [],
      },
    });
    this.usage = usage;
    sim.state.finishTask(task);
  }

  /** The usage of the LLM node, once the run has finished. */
  get finalUsage(): Usage | null {
    return this.usage;
  }

  private emitWorkflow(event: string, fields: Record<string, unknown>): SseEvent {
    const { run, task, chat } = this.input;
    const base = chat ? messageEventBase(task, chat.message) : { task_id: task.id };
    return this.emit({ event, ...base, workflow_run_id: run.id, ...fields });
  }

  private emitMessage(event: string, fields: Record<string, unknown>): SseEvent {
    return this.emit({ event, ...messageEventBase(this.input.task, this.input.chat!.message), ...fields });
  }

  private emit(event: SseEvent): SseEvent {
    this.sink?.send(event);
    for (const listener of this.input.run.listeners) listener(event);
    return event;
  }
}
