import { afterEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { EventBody, EventDraft, RecordedEvent } from '../audit-event.js';
import { AuditStoreError, AuditWriter, type AuditWriterOptions } from './audit-writer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An inbox in memory, skipping ids it has (like the real insert); each record takes `latencyMs`; `failing` makes it throw. */
class FakeStore {
  readonly stored: RecordedEvent[] = [];
  readonly batches: { size: number }[] = [];
  failing: Error | null = null;
  hang = false;
  latencyMs = 5;
  probes = 0;

  async record(bodies: EventBody[]): Promise<RecordedEvent[]> {
    this.batches.push({ size: bodies.length });
    if (this.hang) await new Promise(() => undefined);
    await sleep(this.latencyMs);
    if (this.failing) throw this.failing;
    const receivedAt = new Date();
    const known = new Set(this.stored.map((e) => e.id));
    this.stored.push(...bodies.filter((b) => !known.has(b.id) && known.add(b.id)).map((b) => ({ ...b, receivedAt })));
    return bodies.map((b) => ({ ...b, receivedAt }));
  }

  async writeProbe(): Promise<void> {
    this.probes += 1;
    if (this.failing) throw this.failing;
  }
}

const writers: AuditWriter[] = [];
function writerFor(store: FakeStore, options: Partial<AuditWriterOptions> = {}): AuditWriter {
  const writer = new AuditWriter(store, { maxBatch: 100, maxWaitMs: 0, timeoutMs: 1000, probeIntervalMs: 20, ...options });
  writers.push(writer);
  return writer;
}
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close(100)));
});

const draft = (n = 0): EventDraft => ({ id: randomUUID(), type: 'call.started', requestId: `r${n}` });

describe('AuditWriter', () => {
  it('resolves each append with its recorded event once the batch is committed, and tells who listens', async () => {
    const store = new FakeStore();
    const writer = writerFor(store);
    const told: number[] = [];
    writer.onRecorded = (n) => told.push(n);
    const event = await writer.append(draft(1));
    expect(event).toMatchObject({ requestId: 'r1', receivedAt: expect.any(Date) });
    expect(store.stored).toHaveLength(1);
    expect(told).toEqual([1]);
  });

  it('group commit: appends arriving together, or while a batch is being written, share one transaction', async () => {
    const store = new FakeStore();
    store.latencyMs = 30;
    const writer = writerFor(store);
    const first = writer.append(draft(0)); // alone: its own batch
    await sleep(5);
    const rest = Array.from({ length: 50 }, (_, i) => writer.append(draft(i + 1))); // queue while the first is written
    const events = await Promise.all([first, ...rest]);
    expect(store.batches.map((b) => b.size)).toEqual([1, 50]);
    expect(events.map((e) => e.requestId)).toEqual(Array.from({ length: 51 }, (_, i) => `r${i}`));
    expect(writer.counters).toMatchObject({ batches: 2, events: 51, largestBatch: 50 });
  });

  it('keeps batches within maxBatch', async () => {
    const store = new FakeStore();
    const writer = writerFor(store, { maxBatch: 8 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.append(draft(i))));
    expect(store.batches.map((b) => b.size)).toEqual([8, 8, 4]);
  });

  it('with maxWaitMs, a lone append waits for company; a full batch goes at once', async () => {
    const store = new FakeStore();
    const writer = writerFor(store, { maxWaitMs: 40, maxBatch: 3 });
    const started = Date.now();
    await writer.append(draft());
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    await Promise.all([writer.append(draft()), writer.append(draft()), writer.append(draft())]);
    expect(store.batches.at(-1)?.size).toBe(3);
  });

  it('fails closed: a failed batch rejects its appends, then new appends fail at once until a probe succeeds', async () => {
    const store = new FakeStore();
    const writer = writerFor(store);
    store.failing = Object.assign(new Error('down'), { code: 'P1001' });
    const results = await Promise.allSettled([writer.append(draft()), writer.append(draft())]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(AuditStoreError);
    expect(writer.healthy).toBe(false);
    expect(writer.lastFailure).toBe('P1001');
    const before = store.batches.length;
    await expect(writer.append(draft())).rejects.toThrow(/audit store unavailable/);
    expect(store.batches.length).toBe(before); // refused without touching the store
    store.failing = null;
    for (let i = 0; i < 50 && !writer.healthy; i++) await sleep(10);
    expect(writer.healthy).toBe(true);
    expect(store.probes).toBeGreaterThan(0);
    await expect(writer.append(draft(9))).resolves.toMatchObject({ requestId: 'r9' });
  });

  it('fails a batch that does not commit in time', async () => {
    const store = new FakeStore();
    store.hang = true;
    const writer = writerFor(store, { timeoutMs: 50 });
    await expect(writer.append(draft())).rejects.toMatchObject({ reason: 'timeout' });
    expect(writer.healthy).toBe(false);
  });

  it('keeps durable events while the store is down and writes them once, by id, when it is back', async () => {
    const store = new FakeStore();
    const writer = writerFor(store);
    store.failing = new Error('down');
    const kept = draft(1);
    writer.appendDurable(kept);
    await writer.flushed();
    writer.appendDurable(draft(2)); // while unhealthy: straight to the backlog
    expect(writer.backlogSize).toBe(2);
    store.failing = null;
    for (let i = 0; i < 50 && writer.backlogSize + store.stored.length < 4 && store.stored.length < 2; i++) await sleep(10);
    await writer.flushed();
    expect(store.stored.map((e) => e.requestId).sort()).toEqual(['r1', 'r2']);
  });

  it('a durable event alone waits durableDelayMs, then goes in a batch of its own', async () => {
    const store = new FakeStore();
    const writer = writerFor(store, { durableDelayMs: 60 });
    writer.appendDurable(draft(1));
    await sleep(30);
    expect(store.batches).toHaveLength(0);
    await writer.flushed();
    expect(store.batches.map((b) => b.size)).toEqual([1]);
    expect(store.stored.map((e) => e.requestId)).toEqual(['r1']);
  });

  it('durable events ride with the next append: one insert, at once', async () => {
    const store = new FakeStore();
    const writer = writerFor(store, { durableDelayMs: 10_000 });
    writer.appendDurable(draft(1));
    writer.appendDurable(draft(2));
    await sleep(20);
    expect(store.batches).toHaveLength(0);
    const started = Date.now();
    await writer.append(draft(3));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.batches.map((b) => b.size)).toEqual([3]);
    expect(store.stored.map((e) => e.requestId)).toEqual(['r1', 'r2', 'r3']);
  });

  it('flushNow writes queued durable events at once, without their delay', async () => {
    const store = new FakeStore();
    const writer = writerFor(store, { durableDelayMs: 10_000 });
    writer.appendDurable(draft(1));
    const started = Date.now();
    await writer.flushNow();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.stored.map((e) => e.requestId)).toEqual(['r1']);
  });

  it('close writes queued durable events at once, without their delay', async () => {
    const store = new FakeStore();
    const writer = writerFor(store, { durableDelayMs: 10_000 });
    writer.appendDurable(draft(1));
    const started = Date.now();
    await writer.close(5_000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.stored.map((e) => e.requestId)).toEqual(['r1']);
  });

  it('refuses appends once closed', async () => {
    const writer = writerFor(new FakeStore());
    await writer.close(100);
    await expect(writer.append(draft())).rejects.toMatchObject({ reason: 'closed' });
  });
});
