/** What a simulated workflow run is made of (workflow-run.ts runs it): its input, its nodes, the human-input form. */
import type { SimulatorRuntime } from '../context.js';
import type { AppRecord, Conversation, EndUser, Message, Task, WorkflowRun } from '../state.js';

/** A workflow input that makes the run pause at a human-input node (a simulator directive). */
export const HUMAN_INPUT_DIRECTIVE = 'sim_human_input';

export const HUMAN_INPUT_FORM = {
  form_content: 'Please review the request and leave a comment.\n\n{{#$output.comment#}}',
  inputs: [{ type: 'paragraph', output_variable_name: 'comment', default: { type: 'constant', selector: [], value: '' } }],
  actions: [
    { id: 'approve', title: 'Approve', button_style: 'primary' },
    { id: 'reject', title: 'Reject', button_style: 'default' },
  ],
};

export const FORM_LIFETIME_MS = 60 * 60 * 1000;

export interface NodeSpec {
  id: string;
  type: string;
  title: string;
}

export interface WorkflowRunInput {
  sim: SimulatorRuntime;
  app: AppRecord;
  endUser: EndUser;
  task: Task;
  run: WorkflowRun;
  /** For chatflow (advanced-chat) runs. */
  chat?: { conversation: Conversation; message: Message };
}

export type WorkflowOutcome = 'finished' | 'paused';
