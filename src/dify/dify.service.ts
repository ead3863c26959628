import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AuditUnavailableError } from '../audit/audit-unavailable.error.js';
import { AuditService, type CallAuditEntry } from '../audit/audit.service.js';
import { RefusalAuditor } from '../audit/refusal-auditor.js';
import type { Outcome } from '../audit/audit-event.js';
import { APP_HEADER, CallerAuthService, type AuthenticatedCaller } from '../auth/caller-auth.service.js';
import { GatewayError } from '../common/gateway-error.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import { DatabaseUnavailableError } from '../database/database.errors.js';
import { IsolationService } from '../isolation/isolation.service.js';
import { CallerLimits } from '../limits/caller-limits.service.js';
import type { StreamSlot } from '../limits/stream-slots.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { callInputs } from './call-inputs.js';
import { DifyClient, type DifyApp } from './dify.client.js';
import { DifyError } from './dify.errors.js';
import { refusalCounted } from './early-refusal.js';
import { mapDifyError } from './dify-error.mapper.js';
import type { DifyRoute } from './dify.routes.js';
import { IdempotencyService, provesNotDone, type IdempotencyClaim } from './idempotency.service.js';
import { relayResponse } from './response-relay.js';
import { checkQuery } from './query-checks.js';
import { matchRoute } from './route-matcher.js';

/**
 * The /v1 use case: match the route row, authenticate the team, admit the call (scope, app or
 * dataset, isolation: src/isolation) and count it against the key's limits, check the body and
 * put its end user in the team's namespace, record the call in the audit log (committed before
 * anything is sent: no record, no call), send it with the app's key, relay the answer and record
 * its outcome.
 */
@Injectable()
export class DifyProxyService {
  private readonly logger = new Logger(DifyProxyService.name);

  constructor(
    private readonly auth: CallerAuthService,
    private readonly client: DifyClient,
    private readonly audit: AuditService,
    private readonly idempotency: IdempotencyService,
    private readonly metrics: MetricsService,
    private readonly isolation: IsolationService,
    private readonly limits: CallerLimits,
    private readonly refusals: RefusalAuditor,
  ) {}

  async handle(req: Request, res: Response, shutdownSignal?: AbortSignal): Promise<void> {
    const started = Date.now();
    const entry = newEntry(req, started);
    let routeName = 'unmatched';
    let claim: IdempotencyClaim | undefined;
    let workNotDone = false;
    const callerGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) callerGone.abort();
    });

    let caller: AuthenticatedCaller | undefined;
    let slot: StreamSlot | undefined;
    let tokens: number | undefined;
    let ownEvent = true;
    try {
      const [path, rawQuery = ''] = splitUrl(req.originalUrl);
      const match = matchRoute(req.method, path);
      if (match.kind === 'not_found') throw GatewayError.notFound();
      if (match.kind === 'method_not_allowed') {
        throw new GatewayError(405, 'method_not_allowed', 'The method is not allowed for the requested URL.', { allow: match.allowed.join(', ') });
      }
      entry.route = match.route.path;
      routeName = match.route.name;

      caller = await this.auth.authenticate(req.headers.authorization);
      entry.callerKeyId = caller.keyId;
      entry.callerName = caller.name;
      if (caller.secretExpiresAt) res.setHeader('x-gateway-key-expires', caller.secretExpiresAt.toISOString());
      const call = this.isolation.admit(caller, match, rawQuery, req.headers[APP_HEADER]);
      checkQuery(match.route.query, rawQuery); // what Dify would refuse is not sent (nor counted)
      entry.appAlias = call.target.alias;
      await this.limits.admit(caller, res);

      const prepared = await this.isolation.prepare(call, req, rawQuery);
      Object.assign(entry, callInputs(prepared.json, rawQuery));
      claim = await this.idempotency.claim(req.headers['idempotency-key'], caller.keyId, entry.requestId);
      if (prepared.streaming) slot = await this.limits.openStream(caller);
      await this.audit.callStarted(entry); // write-ahead: throws 503 audit_unavailable when it cannot be recorded
      const upstream = await this.isolation.exchange(call, prepared, (request) =>
        this.client.send({ ...request, requestId: entry.requestId, signal: callerGone.signal, shutdownSignal }),
      );
      entry.attempts = upstream.attempts;
      entry.upstreamStatus = upstream.status;
      const { observation, streamFailure } = await relayResponse(upstream, res, { captureAnswer: this.audit.storesText });
      tokens = observation.totalTokens;
      if (streamFailure && ABANDONED_STREAM.has(streamFailure)) {
        await this.stopAbandonedTask(call.target, call.route, observation.taskId, prepared.body, entry.requestId);
      }
      Object.assign(entry, {
        status: upstream.status,
        totalTokens: observation.totalTokens ?? null,
        totalPrice: observation.totalPrice ?? null,
        currency: observation.currency ?? null,
        answerText: observation.answerText ?? null,
        conversationId: observation.conversationId ?? null,
        messageId: observation.messageId ?? null,
        taskId: observation.taskId ?? null,
        workflowRunId: observation.workflowRunId ?? null,
        errorCode: streamFailure ?? observation.streamErrorCode ?? null,
        outcome: streamOutcome(streamFailure ?? (observation.streamErrorCode ? 'dify_error_event' : undefined)) ?? (upstream.status < 400 ? 'success' : 'client_error'),
      });
    } catch (error) {
      workNotDone = provesNotDone(error);
      if (error instanceof GatewayError && error.status === 409) this.metrics.reject(routeName, entry.appAlias, 'idempotency_conflict');
      const answer = this.toGatewayError(error, entry);
      // A refusal without a key gets its own event only within its source's budget; beyond it,
      // the answer is held back a while, so a flood cannot crowd out the keys that work.
      if (!caller && !refusalCounted(req)) ownEvent = await this.refusals.refuseUnauthenticated(req, answer.reason ?? answer.code);
      entry.status = answer.status;
      entry.errorCode = answer.code;
      entry.outcome = outcomeOf(answer, error instanceof DifyError || entry.upstreamStatus !== null);
      throw answer;
    } finally {
      slot?.release();
      if (caller) await this.limits.recordTokens(caller, tokens);
      entry.latencyMs = Date.now() - started;
      await claim?.finish({ status: entry.status, workNotDone });
      if (ownEvent) this.audit.callFinished(entry); // not awaited: kept and retried if the store is down
      this.metrics.observeCall({ route: routeName, app: entry.appAlias, caller: entry.callerKeyId, status: entry.status, seconds: entry.latencyMs / 1000 });
      if (entry.status === 429) this.metrics.limited(routeName, entry.appAlias, entry.upstreamStatus === 429 ? 'dify' : 'gateway', entry.errorCode ?? 'too_many_requests');
      this.logger.log({
        event: 'dify_call',
        requestId: entry.requestId,
        route: entry.route,
        method: entry.method,
        caller: entry.callerName,
        app: entry.appAlias,
        status: entry.status,
        outcome: entry.outcome,
        errorCode: entry.errorCode,
        attempts: entry.attempts,
        latencyMs: entry.latencyMs,
      });
    }
  }

  /** A stream the caller left (or we cut) keeps spending tokens at Dify until it is stopped. */
  private async stopAbandonedTask(app: DifyApp, route: DifyRoute, taskId: string | undefined, body: Buffer | Readable | undefined, requestId: string): Promise<void> {
    const result = await this.client.stopTask(app, route, taskId, userOf(body), requestId);
    this.metrics.streamStop(app.alias, result);
    this.logger.log({ event: 'dify_task_stop', requestId, app: app.alias, route: route.name, result });
  }

  private toGatewayError(error: unknown, entry: CallAuditEntry): GatewayError {
    if (error instanceof GatewayError) return error;
    if (error instanceof DatabaseUnavailableError) return new AuditUnavailableError('The gateway cannot reach its audit store; no request was sent to Dify.');
    if (error instanceof DifyError) {
      entry.attempts = error.attempts;
      entry.upstreamStatus = error.status ?? null;
      const mapped = mapDifyError(error);
      if (mapped.code === 'dify_auth') {
        this.logger.error(`Dify refused the key of app '${entry.appAlias}' (${error.status} ${error.difyCode ?? ''}); check its configuration`);
      }
      return mapped;
    }
    entry.status = 500;
    entry.errorCode = 'internal_error';
    throw error; // a bug: the global filter answers 500 and logs it
  }
}

/** Stream endings after which Dify may still be working on the task: the caller left, or we cut it. */
const ABANDONED_STREAM = new Set(['client_closed', 'dify_timeout', 'shutting_down']);

/** The `user` of the JSON body as it was sent to Dify. */
function userOf(body: Buffer | Readable | undefined): string | undefined {
  if (!Buffer.isBuffer(body)) return undefined;
  try {
    const user = (JSON.parse(body.toString('utf8')) as { user?: unknown }).user;
    return typeof user === 'string' ? user : undefined;
  } catch {
    return undefined;
  }
}

function newEntry(req: Request, started: number): CallAuditEntry {
  return {
    callId: randomUUID(),
    requestId: requestIdOf(req),
    startedAt: new Date(started),
    callerKeyId: null,
    callerName: null,
    appAlias: null,
    method: req.method,
    route: 'unmatched',
    status: 0,
    upstreamStatus: null,
    outcome: 'rejected',
    errorCode: null,
    latencyMs: 0,
    attempts: 0,
    conversationId: null,
    messageId: null,
    taskId: null,
    workflowRunId: null,
    endUser: null,
    totalTokens: null,
    totalPrice: null,
    currency: null,
    promptText: null,
    answerText: null,
  };
}

function splitUrl(url: string): [string, string?] {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return [path.replace(/^\/v1/, ''), q === -1 ? undefined : url.slice(q + 1)];
}

function streamOutcome(failure: string | undefined): Outcome | undefined {
  if (!failure) return undefined;
  if (failure === 'client_closed' || failure === 'shutting_down') return 'cancelled';
  return failure === 'dify_timeout' ? 'timeout' : 'stream_error';
}

/**
 * A call the gateway itself refused (its checks, its limits, Idempotency-Key or audit store
 * unavailable) never reached Dify: `rejected`, whatever its status.
 */
function outcomeOf(answer: GatewayError, reachedDify: boolean): Outcome {
  if (answer.status === 499) return 'cancelled';
  if (!reachedDify) return 'rejected';
  if (answer.status === 504) return 'timeout';
  if (answer.status >= 500) return 'upstream_error';
  return 'client_error';
}
