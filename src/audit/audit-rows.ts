import type { AuditCheckpoint as CheckpointRow, AuditEvent as EventRow, AuditPending as PendingRow, Prisma } from '../generated/prisma/client.js';
import type { Checkpoint, Details, EventType, Outcome, StoredEvent, UnsealedEvent } from './audit-event.js';

/** Prisma rows -> domain objects (and checkpoints back), for the two audit repositories only. */

export function toStoredEvent(r: EventRow): StoredEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    type: r.type as EventType,
    recordedAt: r.recordedAt,
    receivedAt: r.receivedAt,
    instanceId: r.instanceId,
    callId: r.callId,
    requestId: r.requestId,
    callerKeyId: r.callerKeyId,
    callerName: r.callerName,
    appAlias: r.appAlias,
    method: r.method,
    route: r.route,
    endUser: r.endUser,
    status: r.status,
    upstreamStatus: r.upstreamStatus,
    outcome: r.outcome as Outcome | null,
    errorCode: r.errorCode,
    latencyMs: r.latencyMs,
    attempts: r.attempts,
    conversationId: r.conversationId,
    messageId: r.messageId,
    taskId: r.taskId,
    workflowRunId: r.workflowRunId,
    totalTokens: r.totalTokens,
    totalPrice: r.totalPrice,
    currency: r.currency,
    promptText: r.promptText,
    answerText: r.answerText,
    details: (r.details ?? null) as Details | null,
    prevHash: r.prevHash,
    hash: r.hash,
    keyId: r.keyId,
    signature: r.signature,
  };
}

/** An inbox row: recorded, not sealed (no seq, no chain columns yet). */
export function toUnsealedEvent(r: PendingRow): UnsealedEvent {
  const {
    seq: _s,
    recordedAt: _r,
    prevHash: _p,
    hash: _h,
    keyId: _k,
    signature: _g,
    ...body
  } = toStoredEvent({ ...r, seq: 0n, recordedAt: r.receivedAt, prevHash: '', hash: '', keyId: null, signature: null });
  return {
    ...body,
    receivedAt: r.receivedAt,
    seq: null,
    recordedAt: null,
    prevHash: null,
    hash: null,
    keyId: null,
    signature: null,
    pendingNo: Number(r.pendingNo),
  };
}

export function toCheckpointRow(c: Checkpoint): Prisma.AuditCheckpointCreateInput {
  return { id: c.id, seq: BigInt(c.seq), hash: c.hash, kind: c.kind, createdAt: c.createdAt, keyId: c.keyId, signature: c.signature };
}

export function toCheckpoint(r: CheckpointRow): Checkpoint {
  return {
    id: r.id,
    seq: Number(r.seq),
    hash: r.hash,
    kind: r.kind as Checkpoint['kind'],
    createdAt: r.createdAt,
    keyId: r.keyId,
    signature: r.signature,
  };
}
