import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import type { Readable } from 'node:stream';
import { AuditService } from '../audit/audit.service.js';
import { RefusalAuditor } from '../audit/refusal-auditor.js';
import { CallAccessPolicy } from '../auth/call-access.js';
import { APP_HEADER, CallerAuthService, type AuthenticatedCaller } from '../auth/caller-auth.service.js';
import { GatewayError } from '../common/gateway-error.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import { ShutdownService } from '../common/shutdown.service.js';
import { DatabaseUnavailableError } from '../database/database.errors.js';
import { DifyClient, type DifyCallResponse } from '../dify/dify.client.js';
import { checkQuery } from '../dify/query-checks.js';
import { DifyError } from '../dify/dify.errors.js';
import { mapDifyError } from '../dify/dify-error.mapper.js';
import { refusalCounted } from '../dify/early-refusal.js';
import { IdempotencyService, provesNotDone, type IdempotencyClaim } from '../dify/idempotency.service.js';
import { relayResponse, type RelayResult } from '../dify/response-relay.js';
import { IsolationService, type AdmittedCall, type PreparedRequest } from '../isolation/isolation.service.js';
import { queryParam } from '../isolation/query-param.js';
import { UserNamespace } from '../isolation/user-namespace.js';
import { CallerLimits } from '../limits/caller-limits.service.js';
import type { StreamSlot } from '../limits/stream-slots.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { CallTracer, type CallTrace } from '../tracing/call-tracer.js';
import { callInputs } from './call-inputs.js';
import { ABANDONED_STREAM, refusedOutcome, relayedOutcome } from './call-outcome.js';
import { beginCall, callRecord, type CallEnd, type CallFacts } from './call-record.js';
import { traceSummary } from './call-trace.js';
import { matchCall, type MatchedRoute } from './match.stage.js';

/** What a call holds until it completes: released by the complete stage, whatever happened. */
interface CallHold {
  /** The call's span (a no-op when tracing is off), ended by the complete stage. */
  trace: CallTrace;
  claim?: IdempotencyClaim;
  slot?: StreamSlot;
}

/**
 * The /v1 call as explicit stages, in order: match (route row), authenticate (the key),
 * authorize (scope, app or dataset, all-users: src/auth/call-access.ts), limit (the key's rates),
 * prepare (body read and checked once, end user put in the team's namespace), claim
 * (Idempotency-Key, stream slot), record (the write-ahead: no record, no call), send (through
 * isolation's owner checks, with the app's key), relay (the answer, and a stop for an abandoned
 * stream), complete (one audit event, metrics and one `dify_call` line, once).
 * Each stage returns what it decided; `CallFacts` keeps those decisions for the one record.
 */
@Injectable()
export class CallPipeline {
  private readonly logger = new Logger(CallPipeline.name);

  constructor(
    private readonly auth: CallerAuthService,
    private readonly access: CallAccessPolicy,
    private readonly limits: CallerLimits,
    private readonly isolation: IsolationService,
    private readonly idempotency: IdempotencyService,
    private readonly audit: AuditService,
    private readonly refusals: RefusalAuditor,
    private readonly client: DifyClient,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownService,
    private readonly pino: PinoLogger,
    private readonly tracer: CallTracer,
  ) {}

  /** One /v1 call, counted as in flight, its log lines bound to its request id (pino-http does not run for /v1). */
  run(req: Request, res: Response): Promise<void> {
    const trace = this.tracer.startCall(req.method, req.headers); // its trace_id and span_id go on the call's log lines
    const bindings = { requestId: requestIdOf(req), ...trace.logFields };
    return this.pino.runInContext(() => this.shutdown.track((shutdownSignal) => this.handle(req, res, shutdownSignal, trace)), { bindings });
  }

  private async handle(req: Request, res: Response, shutdownSignal: AbortSignal, trace: CallTrace): Promise<void> {
    const facts = beginCall(req);
    const hold: CallHold = { trace };
    let end: CallEnd;
    let thrown: unknown;
    try {
      end = await this.stages(req, res, facts, hold, shutdownSignal);
    } catch (error) {
      ({ end, thrown } = await this.refused(error, req, facts));
    }
    await this.complete(facts, hold, end);
    if (thrown !== undefined) throw thrown;
  }

  private async stages(req: Request, res: Response, facts: CallFacts, hold: CallHold, shutdownSignal: AbortSignal): Promise<CallEnd> {
    const callerGone = abortWhenCallerLeaves(res);
    const { match, rawQuery } = await this.match(req, res, facts);
    facts.route = match.route;
    const caller = await this.authenticate(req, res);
    facts.caller = caller;
    const call = this.authorize(caller, match, rawQuery, req);
    facts.appAlias = call.target.alias;
    checkQuery(match.route.query, rawQuery); // what Dify would refuse is neither sent nor counted
    // limit: counted here as before, but awaited with the write-ahead (one wait before Dify, not two);
    // a refusal of it still wins over a bad body or Idempotency-Key, as when it was awaited first.
    const admitted = this.limits.admit(caller, res);
    admitted.catch(() => undefined); // awaited below; this only keeps an early refusal from leaving it unhandled
    const prepared = await this.isolation.prepare(call, req, rawQuery).catch(async (error: unknown) => {
      await admitted;
      throw error;
    });
    facts.inputs = callInputs(prepared.json, rawQuery, this.audit.storesText);
    const idempotencyKey = req.headers['idempotency-key'];
    if (idempotencyKey !== undefined) await admitted; // a key over its limit does not claim one
    hold.claim = await this.idempotency.claim(idempotencyKey, caller.keyId, facts.requestId);
    await this.admitAndRecord(caller, prepared, facts, hold, admitted);
    const upstream = await this.send(call, prepared, facts.requestId, callerGone, shutdownSignal, hold.trace);
    facts.upstream = { status: upstream.status, attempts: upstream.attempts };
    const relay = await hold.trace.step('relay', () => this.relay(call, prepared, upstream, res, facts.requestId));
    return {
      ...relayedOutcome(upstream.status, relay),
      status: upstream.status,
      upstreamStatus: upstream.status,
      attempts: upstream.attempts,
      observation: relay.observation,
      workNotDone: false,
      ownEvent: true,
    };
  }

  /**
   * limit and record at once: the rate and budget check, the stream slot and the write-ahead
   * (`call.started`, which throws 503 audit_unavailable when it cannot be written) share one wait.
   * A call refused by its limits may so have a `call.started`; its `call.finished` says why.
   */
  private async admitAndRecord(
    caller: AuthenticatedCaller,
    prepared: PreparedRequest,
    facts: CallFacts,
    hold: CallHold,
    admitted: Promise<void>,
  ): Promise<void> {
    const [admit, slot, record] = await Promise.allSettled([
      admitted,
      prepared.streaming ? this.limits.openStream(caller) : undefined,
      hold.trace.step('audit.write_ahead', () => this.audit.callStarted(callRecord(facts))),
    ]);
    if (slot.status === 'fulfilled') hold.slot = slot.value;
    for (const step of [admit, slot, record]) if (step.status === 'rejected') throw step.reason;
  }

  /**
   * match: the route row, or 404/405. A refused path is still the key's when its key is valid: a
   * team that sends a malformed id hears 404 at once, in its own audit event, and only callers
   * without a valid key are held back by the refusal budget.
   */
  private async match(req: Request, res: Response, facts: CallFacts): Promise<ReturnType<typeof matchCall>> {
    try {
      return matchCall(req.method, req.originalUrl);
    } catch (refusal) {
      facts.caller = await this.authenticate(req, res).catch(() => undefined);
      throw refusal;
    }
  }

  /** authenticate: the key (an unknown one is a 401); tells the caller when its secret expires. */
  private async authenticate(req: Request, res: Response): Promise<AuthenticatedCaller> {
    const caller = await this.auth.authenticate(req.headers.authorization);
    if (caller.secretExpiresAt) res.setHeader('x-gateway-key-expires', caller.secretExpiresAt.toISOString());
    return caller;
  }

  /** authorize: what the key may do here (auth decides), and the namespace its end users live in. */
  private authorize(caller: AuthenticatedCaller, match: MatchedRoute, rawQuery: string, req: Request): AdmittedCall {
    const { route, params, upstreamPath } = match;
    const namesEndUser = route.allUsers === 'without-user' && queryParam(rawQuery, route.user?.name ?? 'user') !== undefined;
    const { target, allUsers } = this.access.decide(caller, route, { params, namesEndUser, appHeader: req.headers[APP_HEADER] });
    return { route, params, upstreamPath, caller, target, ns: new UserNamespace(caller.namespace), allUsers };
  }

  /** send: through isolation (owner checks, dataset lists, the answer out of the namespace) to Dify. */
  private send(
    call: AdmittedCall,
    prepared: PreparedRequest,
    requestId: string,
    callerGone: AbortSignal,
    shutdownSignal: AbortSignal,
    trace: CallTrace,
  ): Promise<DifyCallResponse> {
    return this.isolation.exchange(call, prepared, (request) => this.client.send({ ...request, requestId, signal: callerGone, shutdownSignal, trace }));
  }

  /** relay: the answer to the caller; a stream it left (or we cut) keeps spending tokens at Dify until it is stopped. */
  private async relay(call: AdmittedCall, prepared: PreparedRequest, upstream: DifyCallResponse, res: Response, requestId: string): Promise<RelayResult> {
    const relay = await relayResponse(upstream, res, { captureAnswer: this.audit.storesText });
    if (relay.streamFailure && ABANDONED_STREAM.has(relay.streamFailure)) {
      const result = await this.client.stopTask(call.target, call.route, relay.observation.taskId, userOf(prepared.body), requestId);
      this.metrics.streamStop(call.target.alias, result);
      this.logger.log({ event: 'dify_task_stop', app: call.target.alias, route: call.route.name, result });
    }
    return relay;
  }

  /** A refused or failed call: the caller's answer, and how the call ended. A bug is rethrown as it is (the filter answers 500). */
  private async refused(error: unknown, req: Request, facts: CallFacts): Promise<{ end: CallEnd; thrown: unknown }> {
    const workNotDone = provesNotDone(error);
    const fromDify = error instanceof DifyError ? error : undefined;
    const upstreamStatus = fromDify ? (fromDify.status ?? null) : (facts.upstream?.status ?? null);
    const attempts = fromDify ? fromDify.attempts : (facts.upstream?.attempts ?? 0);
    const answer = this.toGatewayError(error, facts);
    if (!answer)
      return { end: { status: 500, outcome: 'rejected', errorCode: 'internal_error', upstreamStatus, attempts, workNotDone, ownEvent: true }, thrown: error };
    if (answer.status === 409) this.metrics.reject(facts.route?.name ?? 'unmatched', facts.appAlias ?? null, 'idempotency_conflict');
    // A refusal without a key gets its own event only within its source's budget; beyond it,
    // the answer is held back a while, so a flood cannot crowd out the keys that work.
    const ownEvent = facts.caller || refusalCounted(req) ? true : await this.refusals.refuseUnauthenticated(req, answer.reason ?? answer.code);
    const outcome = refusedOutcome(answer, fromDify !== undefined || facts.upstream !== undefined);
    return { end: { status: answer.status, outcome, errorCode: answer.code, upstreamStatus, attempts, workNotDone, ownEvent }, thrown: answer };
  }

  private toGatewayError(error: unknown, facts: CallFacts): GatewayError | undefined {
    if (error instanceof GatewayError) return error;
    if (error instanceof DatabaseUnavailableError) return GatewayErrors.auditUnavailable();
    if (!(error instanceof DifyError)) return undefined;
    const mapped = mapDifyError(error);
    if (mapped.code === 'dify_auth') {
      this.logger.error(`Dify refused the key of app '${facts.appAlias}' (${error.status} ${error.difyCode ?? ''}); check its configuration`);
    }
    return mapped;
  }

  /** complete: releases what the call held, then writes its one audit event, its metrics and its one log line. */
  private async complete(facts: CallFacts, hold: CallHold, end: CallEnd): Promise<void> {
    hold.slot?.release();
    if (facts.caller) await this.limits.recordTokens(facts.caller, end.observation?.totalTokens);
    const entry = callRecord(facts, end, Date.now() - facts.startedMs);
    await hold.claim?.finish({ status: entry.status, workNotDone: end.workNotDone });
    if (end.ownEvent) this.audit.callFinished(entry); // not awaited: kept and retried if the store is down
    const route = facts.route?.name ?? 'unmatched';
    const firstByteAt = end.observation?.firstByteAt;
    const firstByteSeconds = firstByteAt ? (firstByteAt - facts.startedMs) / 1000 : undefined;
    const usage = { tokens: entry.totalTokens, cost: entry.totalPrice, currency: entry.currency, firstByteSeconds };
    this.metrics.observeCall({ route, app: entry.appAlias, key: entry.callerKeyId, status: entry.status, seconds: entry.latencyMs / 1000, ...usage });
    if (entry.status === 429)
      this.metrics.limited(route, entry.appAlias, entry.upstreamStatus === 429 ? 'dify' : 'gateway', entry.errorCode ?? 'too_many_requests');
    this.logger.log({
      event: 'dify_call',
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
    hold.trace.end(traceSummary(facts, entry, end));
  }
}

function abortWhenCallerLeaves(res: Response): AbortSignal {
  const callerGone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) callerGone.abort();
  });
  return callerGone.signal;
}

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
