import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Outcome } from '../audit/audit-event.js';
import type { CallAuditEntry } from '../audit/audit.service.js';
import type { AuthenticatedCaller } from '../auth/caller-auth.service.js';
import { requestIdOf } from '../common/request-id.middleware.js';
import type { CallObservation } from '../dify/sse-observer.js';
import type { CallInputs } from './call-inputs.js';

/**
 * What the pipeline learned of one call, stage by stage: each field is the decision of one stage,
 * set once by the pipeline (src/call/call.pipeline.ts), never by the stages themselves.
 */
export interface CallFacts {
  readonly callId: string;
  readonly requestId: string;
  readonly startedMs: number;
  readonly method: string;
  /** match */
  route?: { name: string; path: string };
  /** authenticate */
  caller?: AuthenticatedCaller;
  /** authorize */
  appAlias?: string;
  /** prepare */
  inputs?: CallInputs;
  /** send: Dify answered (with this status, after this many attempts). */
  upstream?: { status: number; attempts: number };
}

/** How the call ended: what the complete stage writes, once. */
export interface CallEnd {
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  upstreamStatus: number | null;
  attempts: number;
  observation?: CallObservation;
  /** The work provably did not happen (an Idempotency-Key may be used again). */
  workNotDone: boolean;
  /** False when a refusal without a key is only counted in the `auth.refused` aggregate. */
  ownEvent: boolean;
}

export function beginCall(req: IncomingMessage): CallFacts {
  return { callId: randomUUID(), requestId: requestIdOf(req), startedMs: Date.now(), method: req.method ?? '' };
}

/** The audit entry of the call: `call.started` (without an end) and `call.finished` (with it) are made from the same facts. */
export function callRecord(facts: CallFacts, end?: CallEnd, latencyMs = 0): CallAuditEntry {
  const seen = end?.observation ?? {};
  return {
    callId: facts.callId,
    requestId: facts.requestId,
    startedAt: new Date(facts.startedMs),
    callerKeyId: facts.caller?.keyId ?? null,
    callerName: facts.caller?.name ?? null,
    appAlias: facts.appAlias ?? null,
    method: facts.method,
    route: facts.route?.path ?? 'unmatched',
    endUser: facts.inputs?.endUser ?? null,
    conversationId: seen.conversationId ?? facts.inputs?.conversationId ?? null,
    promptText: facts.inputs?.promptText ?? null,
    status: end?.status ?? 0,
    upstreamStatus: end?.upstreamStatus ?? null,
    outcome: end?.outcome ?? 'rejected',
    errorCode: end?.errorCode ?? null,
    latencyMs,
    attempts: end?.attempts ?? 0,
    messageId: seen.messageId ?? null,
    taskId: seen.taskId ?? null,
    workflowRunId: seen.workflowRunId ?? null,
    totalTokens: seen.totalTokens ?? null,
    totalPrice: seen.totalPrice ?? null,
    currency: seen.currency ?? null,
    answerText: seen.answerText ?? null,
  };
}
