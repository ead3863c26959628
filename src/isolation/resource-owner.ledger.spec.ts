import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { EventBody, RecordedEvent } from '../audit/audit-event.js';
import { AuditWriter, type OwnerRow } from '../audit/write/audit-writer.js';
import { ResourceOwnerLedger } from './resource-owner.ledger.js';
import type { ResourceOwnerKey, ResourceOwnerRepository } from './resource-owner.repository.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The database behind a real AuditWriter: each statement records its events and owner rows (an id
 * keeps its first owner, as the table's key does); `hold` keeps statements from committing.
 */
class FakeDatabase {
  readonly rows = new Map<string, string>();
  readonly statements: { events: number; owners: number }[] = [];
  failing = false;
  private gate?: Promise<void>;
  private release?: () => void;
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }
  async record(bodies: EventBody[], owners: readonly OwnerRow[] = []): Promise<RecordedEvent[]> {
    this.statements.push({ events: bodies.length, owners: owners.length });
    await this.gate;
    if (this.failing) throw new Error('database down');
    for (const o of owners) if (!this.rows.has(`${o.kind}:${o.resourceId}`)) this.rows.set(`${o.kind}:${o.resourceId}`, o.namespace);
    return bodies.map((b) => ({ ...b, receivedAt: new Date() }));
  }
  async writeProbe(): Promise<void> {
    if (this.failing) throw new Error('database down');
  }
  async ownerOf(key: ResourceOwnerKey): Promise<string | null> {
    return this.rows.get(`${key.kind}:${key.resourceId}`) ?? null;
  }
}

const writers: AuditWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close(100)));
});

function ledgerOn(db: FakeDatabase, durableDelayMs = 20): { ledger: ResourceOwnerLedger; writer: AuditWriter } {
  const writer = new AuditWriter(db, { maxBatch: 100, maxWaitMs: 0, timeoutMs: 1000, probeIntervalMs: 20, durableDelayMs });
  writers.push(writer);
  return { ledger: new ResourceOwnerLedger(db as unknown as ResourceOwnerRepository, writer), writer };
}

const owner = (resourceId: string, namespace: string) => ({ appAlias: 'app', kind: 'task' as const, resourceId, namespace });
const key = (resourceId: string) => ({ appAlias: 'app', kind: 'task' as const, resourceId });

describe('ResourceOwnerLedger', () => {
  it('writes the owners of one moment in one statement, and knows them before it is committed', async () => {
    const db = new FakeDatabase();
    const { ledger } = ledgerOn(db);
    db.hold();
    const committed = Promise.all(Array.from({ length: 50 }, (_, i) => ledger.record([owner(`t${i}`, i % 2 ? 'team-a' : 'team-b')])));
    expect(await ledger.ownerOf(key('t1'))).toBe('team-a'); // queued
    for (let i = 0; i < 50 && db.statements.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await ledger.ownerOf(key('t2'))).toBe('team-b'); // being written
    expect(db.rows.size).toBe(0);
    db.open();
    await committed;
    expect(db.statements).toEqual([{ events: 0, owners: 50 }]);
    expect(await ledger.ownerOf(key('t1'))).toBe('team-a'); // from the table now
  });

  it('does not lengthen a write-ahead: owners ride with a batch nobody waits for, or after their delay', async () => {
    const db = new FakeDatabase();
    const { ledger, writer } = ledgerOn(db, 60);
    const owned = ledger.record([owner('m1', 'team-a')]);
    await writer.append({ id: randomUUID(), type: 'call.started' }); // a caller waits: owners stay out
    expect(db.statements).toEqual([{ events: 1, owners: 0 }]);
    writer.appendDurable({ id: randomUUID(), type: 'call.finished' }); // nobody waits: owners ride
    await owned;
    expect(db.statements).toEqual([
      { events: 1, owners: 0 },
      { events: 1, owners: 1 },
    ]);
    expect(db.rows.get('task:m1')).toBe('team-a');
  });

  it('owners due after their delay ride with the batch written next, or go alone when there is none', async () => {
    const db = new FakeDatabase();
    const { ledger, writer } = ledgerOn(db, 30);
    db.hold();
    const busy = writer.append({ id: randomUUID(), type: 'call.started' }); // a batch in flight past the delay
    const owned = ledger.record([owner('m2', 'team-a')]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const next = writer.append({ id: randomUUID(), type: 'call.started' });
    db.open();
    await Promise.all([busy, owned, next]);
    expect(db.statements).toEqual([
      { events: 1, owners: 0 },
      { events: 1, owners: 1 },
    ]);
    await ledger.record([owner('m3', 'team-a')]); // nothing else to write: alone, after the delay
    expect(db.statements.at(-1)).toEqual({ events: 0, owners: 1 });
  });

  it('writes urgent owners at once (a form token another replica may be handed)', async () => {
    const db = new FakeDatabase();
    const { ledger } = ledgerOn(db, 10_000);
    const started = Date.now();
    await ledger.record([owner('form-1', 'team-a')], true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(db.rows.get('task:form-1')).toBe('team-a');
  });

  it('answers a record of no owners at once, while other owners wait for their statement', async () => {
    const db = new FakeDatabase();
    const { ledger } = ledgerOn(db);
    db.hold();
    let othersCommitted = false;
    void ledger.record([owner('m1', 'team-a')]).then(() => (othersCommitted = true));
    await ledger.record([]); // a chat answer without form tokens: nothing of its own to wait for
    expect(othersCommitted).toBe(false);
    db.open();
    for (let i = 0; i < 50 && !othersCommitted; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(othersCommitted).toBe(true);
  });

  it('keeps the first owner of an id, also while it is being written', async () => {
    const db = new FakeDatabase();
    const { ledger } = ledgerOn(db);
    db.hold();
    const first = ledger.record([owner('x', 'team-a')], true);
    await tick();
    const second = ledger.record([owner('x', 'team-b'), owner('y', 'team-b')], true);
    expect(await ledger.ownerOf(key('x'))).toBe('team-a');
    db.open();
    await Promise.all([first, second]);
    expect(db.statements.map((s) => s.owners)).toEqual([1, 1]);
    expect(db.rows.get('task:x')).toBe('team-a');
    expect(db.rows.get('task:y')).toBe('team-b');
  });

  it('fails closed: a statement that fails leaves the ids unowned, and the promise still resolves', async () => {
    const db = new FakeDatabase();
    db.failing = true;
    const { ledger } = ledgerOn(db);
    await expect(ledger.record([owner('lost', 'team-a')], true)).resolves.toBeUndefined();
    expect(await ledger.ownerOf(key('lost'))).toBeNull();
  });

  it('refuses an id the table cannot store (a NUL character) without failing anything else', async () => {
    const db = new FakeDatabase();
    const { ledger, writer } = ledgerOn(db);
    await expect(ledger.record([owner('bad\u0000id', 'team-a')], true)).resolves.toBeUndefined();
    expect(await ledger.ownerOf(key('bad\u0000id'))).toBeNull();
    await expect(writer.append({ id: randomUUID(), type: 'call.started' })).resolves.toMatchObject({ type: 'call.started' });
    expect(db.statements).toEqual([{ events: 1, owners: 0 }]);
  });
});
