import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AuditUnavailableError } from '../audit/audit-unavailable.error.js';
import { AuditService, type CallAuditEntry } from '../audit/audit.service.js';
import type { Outcome } from '../audit/audit-event.js';
import { CallerAuthService } from '../auth/caller-auth.service.js';
import { GatewayError } from '../common/gateway-error.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import { DatabaseUnavailableError } from '../database/database.errors.js';
import { callInputs } from './call-inputs.js';
import { DifyClient } from './dify.client.js';
import { DifyError } from './dify.errors.js';
import { mapDifyError } from './dify-error.mapper.js';
import type { DifyRoute } from './dify.routes.js';
import { checkMultipart, forwardedHeaders, readJsonBody } from './inbound-body.js';
import { relayResponse } from './response-relay.js';
import { matchRoute } from './route-matcher.js';

/**
 * The /v1 use case: match the route row, authenticate and authorise the team, check the body,
 * record the call in the audit log (committed before anything is sent: no record, no call), send
 * it to the bound Dify app with the app's key, relay the answer and record its outcome.
 */
@Injectable()
export class DifyProxyService {
  private readonly logger = new Logger(DifyProxyService.name);

  constructor(
    private readonly auth: CallerAuthService,
    private readonly client: DifyClient,
    private readonly audit: AuditService,
  ) {}

  async handle(req: Request, res: Response): Promise<void> {
    const started = Date.now();
    const entry = newEntry(req, started);
    const callerGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) callerGone.abort();
    });

    try {
      const [path, rawQuery = ''] = splitUrl(req.originalUrl);
      const match = matchRoute(req.method, path);
      if (match.kind === 'not_found') throw GatewayError.notFound();
      if (match.kind === 'method_not_allowed') {
        throw new GatewayError(405, 'method_not_allowed', 'The method is not allowed for the requested URL.', { allow: match.allowed.join(', ') });
      }
      const { route, upstreamPath } = match;
      entry.route = route.path;

      const caller = await this.auth.authenticate(req.headers.authorization);
      entry.callerKeyId = caller.keyId;
      entry.callerName = caller.name;
      this.auth.requireScope(caller, route.scope);
      const alias = this.auth.resolveApp(caller);
      entry.appAlias = alias;
      const app = this.client.app(alias);
      if (!app) throw GatewayError.forbidden(`This key is bound to app '${alias}', which is not configured on this gateway.`);

      const { headers, body, json } = await prepareBody(req, route);
      Object.assign(entry, callInputs(json, rawQuery));
      await this.audit.callStarted(entry); // write-ahead: throws 503 audit_unavailable when it cannot be recorded
      const upstream = await this.client.send({
        app,
        route,
        upstreamPath,
        rawQuery,
        headers,
        body,
        requestId: entry.requestId,
        signal: callerGone.signal,
      });
      entry.attempts = upstream.attempts;
      entry.upstreamStatus = upstream.status;
      const { observation, streamFailure } = await relayResponse(upstream, res, { captureAnswer: this.audit.storesText });
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
      const answer = this.toGatewayError(error, entry);
      entry.status = answer.status;
      entry.errorCode = answer.code;
      entry.outcome = outcomeOf(answer, entry.upstreamStatus);
      throw answer;
    } finally {
      entry.latencyMs = Date.now() - started;
      this.audit.callFinished(entry); // not awaited: kept and retried if the store is down
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

async function prepareBody(req: Request, route: DifyRoute): Promise<{ headers: Record<string, string>; body?: Buffer | Readable; json?: Record<string, unknown> }> {
  if (route.body === 'json') {
    const { raw, json } = await readJsonBody(req, route);
    return { headers: { ...forwardedHeaders(req, false), 'content-type': 'application/json' }, body: raw, json };
  }
  if (route.body === 'multipart') {
    checkMultipart(req);
    return { headers: forwardedHeaders(req, true), body: req };
  }
  return { headers: forwardedHeaders(req, false) };
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
  if (failure === 'client_closed') return 'cancelled';
  return failure === 'dify_timeout' ? 'timeout' : 'stream_error';
}

function outcomeOf(answer: GatewayError, upstreamStatus: number | null): Outcome {
  if (answer.code === 'audit_unavailable') return 'rejected';
  if (answer.status === 499) return 'cancelled';
  if (answer.status === 504) return 'timeout';
  if (answer.status >= 500) return 'upstream_error';
  return upstreamStatus === null ? 'rejected' : 'client_error';
}
