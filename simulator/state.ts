/**
 * The simulator's in-memory store: apps, end users, conversations, messages, files, workflow runs,
 * running tasks, annotations and human-input forms. Everything except the apps is cleared by reset().
 */
import type { SimulatorApp, SimulatorAppMode } from './types.js';
import { newId } from './util.js';

export interface AppRecord {
  id: string;
  /** The key the app was created with. */
  key: string;
  /** Every valid key of the app (Dify allows several, so keys can be rotated). */
  keys: Set<string>;
  mode: SimulatorAppMode;
  name: string;
  workflowId: string;
  maxActiveRequests: number;
}

export interface EndUser {
  id: string;
  appId: string;
  sessionId: string;
  isAnonymous: boolean;
  createdAt: number; // ms
}

export type VariableType = 'string' | 'number' | 'object' | 'array[string]';

export interface ConversationVariable {
  id: string;
  name: string;
  valueType: VariableType;
  value: unknown;
  description: string;
  createdAt: number; // ms
  updatedAt: number; // ms
}

export interface Conversation {
  id: string;
  appId: string;
  endUserId: string;
  name: string;
  inputs: Record<string, unknown>;
  createdAt: number; // ms
  updatedAt: number; // ms
  seq: number;
  variables: ConversationVariable[];
}

export interface Feedback {
  id: string;
  appId: string;
  messageId: string;
  conversationId: string | null;
  rating: 'like' | 'dislike';
  content: string | null;
  fromEndUserId: string;
  createdAt: number; // ms
  updatedAt: number; // ms
}

export interface Message {
  id: string;
  appId: string;
  conversationId: string | null; // null for completion messages
  endUserId: string;
  parentMessageId: string | null;
  inputs: Record<string, unknown>;
  query: string;
  answer: string;
  status: 'normal' | 'error';
  error: string | null;
  files: unknown[];
  feedback: Feedback | null;
  createdAt: number; // ms
  seq: number;
}

export interface UploadedFile {
  id: string;
  appId: string;
  endUserId: string;
  name: string;
  size: number;
  extension: string;
  mimeType: string;
  data: Buffer;
  createdAt: number; // ms
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'stopped' | 'partial-succeeded' | 'paused';

export type SseEvent = Record<string, unknown> & { event: string };

export interface WorkflowRun {
  id: string;
  appId: string;
  workflowId: string;
  endUserId: string;
  inputs: Record<string, unknown>;
  status: RunStatus;
  outputs: Record<string, unknown>;
  error: string | null;
  totalSteps: number;
  totalTokens: number;
  createdAt: number; // ms
  finishedAt: number | null; // ms
  taskId: string;
  seq: number;
  /** Subscribers of GET /workflow/{id}/events. */
  listeners: Set<(event: SseEvent) => void>;
  /** The last terminal event (workflow_finished or workflow_paused), replayed to late subscribers. */
  lastTerminalEvent: SseEvent | null;
}

export interface Task {
  id: string;
  appId: string;
  endUserId: string;
  kind: 'chat' | 'completion' | 'workflow';
  controller: AbortController;
  stopped: boolean;
  /** Extra work on stop, e.g. finishing a paused workflow run. */
  onStop?: () => void;
}

export interface Annotation {
  id: string;
  appId: string;
  question: string;
  answer: string;
  hitCount: number;
  createdAt: number; // ms
  seq: number;
}

export interface AnnotationJob {
  id: string;
  appId: string;
  action: 'enable' | 'disable';
}

export interface HumanInputForm {
  token: string;
  appId: string;
  runId: string;
  nodeId: string;
  expiresAt: number; // ms
  state: 'waiting' | 'submitted' | 'expired';
  resume: (inputs: Record<string, unknown>, action: string) => void;
}

export const DEFAULT_USER = 'DEFAULT-USER';

export class SimulatorState {
  readonly apps: AppRecord[];
  endUsers = new Map<string, EndUser>();
  conversations = new Map<string, Conversation>();
  messages = new Map<string, Message>();
  files = new Map<string, UploadedFile>();
  runs = new Map<string, WorkflowRun>();
  tasks = new Map<string, Task>();
  annotations = new Map<string, Annotation>();
  annotationJobs = new Map<string, AnnotationJob>();
  forms = new Map<string, HumanInputForm>();
  /** Generation requests in flight per app id, for maxActiveRequests. */
  activeRequests = new Map<string, number>();
  private sequence = 0;

  constructor(apps: SimulatorApp[]) {
    this.apps = apps.map((app) => ({
      id: app.id ?? newId(),
      key: app.key,
      keys: new Set([app.key]),
      mode: app.mode,
      name: app.name ?? `Simulated ${app.mode} app`,
      workflowId: app.workflowId ?? newId(),
      maxActiveRequests: app.maxActiveRequests ?? 0,
    }));
  }

  /** A monotonically increasing number, to order records created within the same millisecond. */
  nextSeq(): number {
    return ++this.sequence;
  }

  reset(): void {
    for (const task of this.tasks.values()) task.controller.abort();
    this.endUsers.clear();
    this.conversations.clear();
    this.messages.clear();
    this.files.clear();
    this.runs.clear();
    this.tasks.clear();
    this.annotations.clear();
    this.annotationJobs.clear();
    this.forms.clear();
    this.activeRequests.clear();
  }

  appByKey(key: string): AppRecord | undefined {
    return this.apps.find((app) => app.keys.has(key));
  }

  /** The end user for `user` (or the anonymous DEFAULT-USER), created on first sight like Dify does. */
  endUser(app: AppRecord, user: string | undefined): EndUser {
    const sessionId = user ?? DEFAULT_USER;
    for (const candidate of this.endUsers.values()) {
      if (candidate.appId === app.id && candidate.sessionId === sessionId) return candidate;
    }
    const created: EndUser = {
      id: newId(),
      appId: app.id,
      sessionId,
      isAnonymous: user === undefined,
      createdAt: Date.now(),
    };
    this.endUsers.set(created.id, created);
    return created;
  }

  /** Reserve a generation slot; false when the app's concurrency limit is reached. */
  tryAcquire(app: AppRecord): boolean {
    const active = this.activeRequests.get(app.id) ?? 0;
    if (app.maxActiveRequests > 0 && active >= app.maxActiveRequests) return false;
    this.activeRequests.set(app.id, active + 1);
    return true;
  }

  release(app: AppRecord): void {
    const active = this.activeRequests.get(app.id) ?? 0;
    this.activeRequests.set(app.id, Math.max(0, active - 1));
  }

  startTask(app: AppRecord, endUser: EndUser, kind: Task['kind']): Task {
    const task: Task = {
      id: newId(),
      appId: app.id,
      endUserId: endUser.id,
      kind,
      controller: new AbortController(),
      stopped: false,
    };
    this.tasks.set(task.id, task);
    return task;
  }

  finishTask(task: Task): void {
    this.tasks.delete(task.id);
  }
}
