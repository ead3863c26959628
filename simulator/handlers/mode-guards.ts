/** Which app modes an endpoint accepts, with Dify's mismatch errors (SERVICE_API.md §2). */
import { appUnavailable, notChatApp, notWorkflowApp } from '../errors.js';
import type { AppRecord } from '../state.js';

const CHAT_FAMILY = new Set(['chat', 'agent-chat', 'advanced-chat']);

export const isChatFamily = (app: AppRecord): boolean => CHAT_FAMILY.has(app.mode);

/** Chat routes: 400 not_chat_app otherwise. */
export function requireChatApp(app: AppRecord): void {
  if (!isChatFamily(app)) throw notChatApp();
}

/** Completion routes: 400 app_unavailable otherwise. */
export function requireCompletionApp(app: AppRecord): void {
  if (app.mode !== 'completion') throw appUnavailable();
}

/** Workflow routes: 400 not_workflow_app otherwise; run records also exist for chatflows. */
export function requireWorkflowApp(app: AppRecord, options: { allowChatflow?: boolean } = {}): void {
  if (app.mode === 'workflow') return;
  if (options.allowChatflow && app.mode === 'advanced-chat') return;
  throw notWorkflowApp();
}
