/**
 * Reading workflow runs (SERVICE_API.md §4.2): GET /workflows/run/{id}, GET /workflows/logs and the
 * SSE resume endpoint GET /workflow/{id}/events.
 */
import { intParam, userFromQuery } from '../body.js';
import type { AppContext } from '../context.js';
import { notFound, validationError } from '../errors.js';
import type { SseEvent, WorkflowRun } from '../state.js';
import { requireWorkflowApp } from './mode-guards.js';
import { presentRun, presentWorkflowLog } from './presenters.js';

const RUN_STATUSES = ['running', 'succeeded', 'failed', 'stopped', 'partial-succeeded', 'paused'];

function findRun(ctx: AppContext, id: string): WorkflowRun {
  const run = ctx.sim.state.runs.get(id.toLowerCase());
  if (!run || run.appId !== ctx.app.id) throw notFound('Workflow run not found.');
  return run;
}

export function getWorkflowRun(ctx: AppContext): void {
  requireWorkflowApp(ctx.app, { allowChatflow: true });
  ctx.json(200, presentRun(findRun(ctx, ctx.params.workflow_run_id)));
}

function parseDate(ctx: AppContext, name: string): number | undefined {
  const raw = ctx.query.get(name);
  if (!raw) return undefined;
  const time = Date.parse(raw);
  if (Number.isNaN(time)) throw validationError('WorkflowLogQuery', name, 'Input should be a valid datetime');
  return time;
}

export function listWorkflowLogs(ctx: AppContext): void {
  requireWorkflowApp(ctx.app, { allowChatflow: true });
  const model = 'WorkflowLogQuery';
  const page = intParam(ctx, 'page', 1, 1, 99999, model);
  const limit = intParam(ctx, 'limit', 20, 1, 100, model);
  const status = ctx.query.get('status') || undefined;
  if (status && !RUN_STATUSES.includes(status)) {
    throw validationError(model, 'status', "Input should be 'succeeded', 'failed' or 'stopped'");
  }
  const keyword = ctx.query.get('keyword')?.toLowerCase() || undefined;
  const before = parseDate(ctx, 'created_at__before');
  const after = parseDate(ctx, 'created_at__after');
  const sessionId = ctx.sim.legacyWorkflowLogs ? undefined : ctx.query.get('created_by_end_user_session_id') || undefined;
  const account = ctx.query.get('created_by_account') || undefined;
  const { state } = ctx.sim;

  const runs = [...state.runs.values()]
    .filter((run) => run.appId === ctx.app.id)
    .filter((run) => !status || run.status === status)
    .filter((run) => !keyword || JSON.stringify([run.inputs, run.outputs]).toLowerCase().includes(keyword))
    .filter((run) => before === undefined || run.createdAt <= before)
    .filter((run) => after === undefined || run.createdAt >= after)
    .filter((run) => !sessionId || state.endUsers.get(run.endUserId)?.sessionId === sessionId)
    .filter(() => !account) // every simulated run was started by an end user, none by an account
    .sort((a, b) => b.seq - a.seq);
  const data = runs.slice((page - 1) * limit, page * limit);
  ctx.json(200, {
    page,
    limit,
    total: runs.length,
    has_more: page * limit < runs.length,
    data: data.map((run) => presentWorkflowLog(run, state.endUsers.get(run.endUserId))),
  });
}

const isTrue = (value: string | null): boolean => value !== null && ['true', '1', 'yes'].includes(value.toLowerCase());

/**
 * GET /workflow/{id}/events?user=: a finished run replays its workflow_finished and closes; a running
 * run streams its next events until it finishes (or pauses, unless continue_on_pause). 404 when `user`
 * did not start the run.
 */
export function streamWorkflowEvents(ctx: AppContext): void {
  requireWorkflowApp(ctx.app, { allowChatflow: true });
  const user = userFromQuery(ctx, true);
  const run = findRun(ctx, ctx.params.workflow_run_id);
  const endUser = ctx.sim.state.endUser(ctx.app, user);
  if (run.endUserId !== endUser.id) throw notFound('Workflow run not found.');
  const continueOnPause = isTrue(ctx.query.get('continue_on_pause'));

  const listener = (event: SseEvent) => {
    stream.send(event);
    if (event.event === 'workflow_finished' || (event.event === 'workflow_paused' && !continueOnPause)) stream.end();
  };
  const stream = ctx.sse(() => run.listeners.delete(listener));
  const waiting = run.status === 'running' || (run.status === 'paused' && continueOnPause);
  if (!waiting) {
    if (run.lastTerminalEvent) stream.send(run.lastTerminalEvent);
    stream.end();
    return;
  }
  run.listeners.add(listener);
}
