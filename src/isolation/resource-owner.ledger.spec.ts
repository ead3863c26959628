import { describe, expect, it } from '@jest/globals';
import { ResourceOwnerLedger } from './resource-owner.ledger.js';
import type { ResourceOwnerKey, ResourceOwnerRepository } from './resource-owner.repository.js';

/** A table in memory with the repository's rule (an id keeps its first owner), counting inserts. */
class FakeOwners {
  readonly rows = new Map<string, string>();
  inserts = 0;
  failing = false;
  private release?: () => void;
  private gate?: Promise<void>;
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }
  async record(owners: ReadonlyArray<ResourceOwnerKey & { namespace: string }>): Promise<void> {
    this.inserts++;
    await this.gate;
    if (this.failing) throw new Error('database down');
    for (const o of owners) if (!this.rows.has(`${o.kind}:${o.resourceId}`)) this.rows.set(`${o.kind}:${o.resourceId}`, o.namespace);
  }
  async ownerOf(key: ResourceOwnerKey): Promise<string | null> {
    return this.rows.get(`${key.kind}:${key.resourceId}`) ?? null;
  }
}

const owner = (resourceId: string, namespace: string) => ({ appAlias: 'app', kind: 'task' as const, resourceId, namespace });
const key = (resourceId: string) => ({ appAlias: 'app', kind: 'task' as const, resourceId });

describe('ResourceOwnerLedger', () => {
  it('group-commits the owners of one moment in one insert, and knows them before it is committed', async () => {
    const fake = new FakeOwners();
    const ledger = new ResourceOwnerLedger(fake as unknown as ResourceOwnerRepository);
    fake.hold();
    const committed = Promise.all(Array.from({ length: 50 }, (_, i) => ledger.record([owner(`t${i}`, i % 2 ? 'team-a' : 'team-b')])));
    expect(await ledger.ownerOf(key('t1'))).toBe('team-a'); // queued
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await ledger.ownerOf(key('t2'))).toBe('team-b'); // being written
    expect(fake.rows.size).toBe(0);
    fake.open();
    await committed;
    expect(fake.inserts).toBe(1);
    expect(fake.rows.size).toBe(50);
    expect(await ledger.ownerOf(key('t1'))).toBe('team-a'); // from the table now
  });

  it('answers a record of no owners at once, while other owners wait for their insert', async () => {
    const fake = new FakeOwners();
    const ledger = new ResourceOwnerLedger(fake as unknown as ResourceOwnerRepository);
    fake.hold();
    let othersCommitted = false;
    void ledger.record([owner('m1', 'team-a')]).then(() => (othersCommitted = true));
    await ledger.record([]); // a chat answer without form tokens: nothing of its own to wait for
    expect(othersCommitted).toBe(false);
    fake.open();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(othersCommitted).toBe(true);
  });

  it('keeps the first owner of an id, and writes what comes during an insert in the next one', async () => {
    const fake = new FakeOwners();
    const ledger = new ResourceOwnerLedger(fake as unknown as ResourceOwnerRepository);
    fake.hold();
    const first = ledger.record([owner('x', 'team-a')]);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const second = ledger.record([owner('x', 'team-b'), owner('y', 'team-b')]);
    expect(await ledger.ownerOf(key('x'))).toBe('team-a');
    fake.open();
    await Promise.all([first, second]);
    expect(fake.inserts).toBe(2);
    expect(fake.rows.get('task:x')).toBe('team-a');
    expect(fake.rows.get('task:y')).toBe('team-b');
  });

  it('fails closed: an insert that fails leaves the ids unowned, and the promise still resolves', async () => {
    const fake = new FakeOwners();
    fake.failing = true;
    const ledger = new ResourceOwnerLedger(fake as unknown as ResourceOwnerRepository);
    await expect(ledger.record([owner('lost', 'team-a')])).resolves.toBeUndefined();
    expect(await ledger.ownerOf(key('lost'))).toBeNull();
  });
});
