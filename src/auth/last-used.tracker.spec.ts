import { describe, expect, it } from '@jest/globals';
import type { ApiKeyRepository } from './api-key.repository.js';
import { LastUsedTracker } from './last-used.tracker.js';

function fakeRepo(fail = false) {
  const writes: { id: string; at: Date }[][] = [];
  const repo = {
    async touchLastUsed(uses: { id: string; at: Date }[]) {
      if (fail) throw new Error('down');
      writes.push(uses);
    },
  };
  return { repo: repo as unknown as ApiKeyRepository, writes, fail: (v: boolean) => (fail = v) };
}

describe('LastUsedTracker', () => {
  it('writes one batch for many requests, with the latest time per key', async () => {
    const { repo, writes } = fakeRepo();
    const tracker = new LastUsedTracker(repo, { lastUsedFlushMs: 60_000 } as never);
    for (let i = 0; i < 1000; i++) tracker.touch(i % 2 ? 'k1' : 'k2', new Date(i));
    expect(writes).toHaveLength(0);
    await tracker.flush();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual([
      { id: 'k2', at: new Date(998) },
      { id: 'k1', at: new Date(999) },
    ]);
    await tracker.flush();
    expect(writes).toHaveLength(1); // nothing new, nothing written
  });

  it('keeps the times of a failed write for the next flush, without overwriting newer ones', async () => {
    const fake = fakeRepo(true);
    const tracker = new LastUsedTracker(fake.repo, { lastUsedFlushMs: 60_000 } as never);
    tracker.touch('k1', new Date(1));
    tracker.touch('k2', new Date(1));
    await tracker.flush();
    tracker.touch('k1', new Date(5));
    fake.fail(false);
    await tracker.flush();
    expect(fake.writes[0]).toEqual(
      expect.arrayContaining([
        { id: 'k1', at: new Date(5) },
        { id: 'k2', at: new Date(1) },
      ]),
    );
  });

  it('flushes when the module stops', async () => {
    const { repo, writes } = fakeRepo();
    const tracker = new LastUsedTracker(repo, { lastUsedFlushMs: 60_000 } as never);
    tracker.onModuleInit();
    tracker.touch('k1');
    await tracker.onModuleDestroy();
    expect(writes).toHaveLength(1);
  });
});
