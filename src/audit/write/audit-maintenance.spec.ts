import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { openTestAuditLog, type TestAuditLog } from '../../../test/support/audit-log.js';
import { DATABASE_KINDS, DATABASE_SETUP_TIMEOUT_MS } from '../../../test/support/database.js';
import { AuditMaintenance, GATEWAY_STOPPED } from './audit-maintenance.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe.each(DATABASE_KINDS)('AuditMaintenance (%s)', (kind) => {
  let log: TestAuditLog;

  beforeAll(async () => {
    log = await openTestAuditLog(kind, { retentionDays: 1 });
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await log?.dispose();
  });

  it('writes a signed checkpoint of the head, only when the head moved', async () => {
    await log.append([{ type: 'gateway.started', instanceId: log.service.instanceId }]);
    const cp = await log.maintenance.checkpoint();
    const head = (await log.read.bounds())!.last;
    expect(cp).toMatchObject({ seq: head, kind: 'periodic', keyId: log.signer.keyId, signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(log.signer.checkCheckpoint(cp!)).toBe('valid');
    expect(await log.maintenance.checkpoint()).toBeNull();
  });

  it('closes the calls of a gateway that died as "outcome unknown: gateway stopped", once', async () => {
    const dead = randomUUID();
    const callIds = [randomUUID(), randomUUID(), randomUUID()];
    await log.append([{ type: 'gateway.started', instanceId: dead }]);
    await log.append(
      callIds.map((callId, i) => ({
        type: 'call.started' as const,
        instanceId: dead,
        callId,
        requestId: `crash-${i}`,
        endUser: 'erin',
        route: '/chat-messages',
      })),
    );
    await log.append([{ type: 'call.finished', instanceId: dead, callId: callIds[0], requestId: 'crash-0', outcome: 'success', status: 200 }]);
    // A gateway that stopped cleanly has nothing to recover.
    const clean = randomUUID();
    await log.append([
      { type: 'gateway.started', instanceId: clean },
      { type: 'gateway.stopped', instanceId: clean },
    ]);

    expect(await log.maintenance.recoverOpenCalls()).toBe(2);
    // The closing events are recorded, not sealed yet: recovery counts them, so it closes nothing twice.
    expect(await log.maintenance.recoverOpenCalls()).toBe(0);
    await log.sequencer.sealNow();
    const closed = await log.read.search({ type: 'call.finished', outcome: 'unknown' }, { limit: 10 });
    expect(closed.map((e) => e.requestId).sort()).toEqual(['crash-1', 'crash-2']);
    expect(closed[0]).toMatchObject({
      instanceId: dead,
      errorCode: 'gateway_stopped',
      endUser: 'erin',
      route: '/chat-messages',
      details: { reason: GATEWAY_STOPPED, recovered_by: log.service.instanceId },
    });
    const [recovered] = await log.read.search({ type: 'gateway.recovered' }, { limit: 10 });
    expect(recovered).toMatchObject({ instanceId: dead, details: { calls_closed: 2, recovered_by: log.service.instanceId } });
    expect(await log.maintenance.recoverOpenCalls()).toBe(0);
    expect((await log.verifier.verify()).ok).toBe(true);
  });

  it('retention deletes old events behind a signed anchor; the rest stays verifiable and records the purge', async () => {
    await log.append(Array.from({ length: 5 }, (_, i) => ({ type: 'call.started' as const, requestId: `old-${i}` })));
    await new Promise((r) => setTimeout(r, 20));
    const boundary = new Date();
    await new Promise((r) => setTimeout(r, 20));
    const kept = await log.append(Array.from({ length: 5 }, (_, i) => ({ type: 'call.started' as const, requestId: `new-${i}` })));
    const firstKept = Math.min(...kept.map((e) => e.seq));

    // One day of retention, "now" one day after the boundary: everything before it is due.
    const deleted = await log.maintenance.purgeExpired(new Date(boundary.getTime() + DAY_MS));
    await log.sequencer.sealNow();
    expect(deleted).toBe(firstKept - 1);
    expect((await log.read.bounds())!.first).toBe(firstKept);
    const [anchor] = (await log.read.checkpoints()).filter((c) => c.kind === 'anchor');
    expect(anchor).toMatchObject({ seq: firstKept - 1, kind: 'anchor' });
    expect(log.signer.checkCheckpoint(anchor)).toBe('valid');
    const [purged] = await log.read.search({ type: 'audit.purged' }, { limit: 1 });
    expect(purged.details).toMatchObject({ retention_days: 1, events_deleted: deleted, chain_starts_after_seq: firstKept - 1 });

    const report = await log.verifier.verify();
    expect(report).toMatchObject({ ok: true, startedFrom: 'anchor', firstSeq: firstKept });
    // Deleting past the anchor is still caught.
    await log.sql(`DELETE FROM audit_events WHERE seq = ${firstKept}`);
    expect((await log.verifier.verify()).problem).toMatchObject({ kind: 'deleted', seq: firstKept });
  });

  it('does nothing without a retention period', async () => {
    const keepAll = new AuditMaintenance(log.service, log.writer, log.sequencer, log.repository, log.signer, log.db, {
      retentionDays: 0,
      checkpointIntervalMs: 60_000,
    });
    const before = await log.read.bounds();
    expect(await keepAll.purgeExpired(new Date(Date.now() + 1000 * DAY_MS))).toBe(0);
    expect(await log.read.bounds()).toEqual(before);
  });
});
