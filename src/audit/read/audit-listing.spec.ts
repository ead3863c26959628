import { describe, expect, it } from '@jest/globals';
import type { StoredEvent, UnsealedEvent } from '../audit-event.js';
import { listPage, type ListingFilter } from './audit-listing.js';
import type { AuditReadRepository } from './audit-read.repository.js';

/**
 * A two-part log in memory, where the sequencer seals every pending event right after the
 * inbox was read: the race `listPage` must survive without losing `has_more`.
 */
function logSealingBetweenReads(sealedIds: string[], pendingIds: string[]) {
  const sealed = sealedIds.map((id, i) => ({ id, seq: i + 1 }) as unknown as StoredEvent);
  let pending = pendingIds.map((id, i) => ({ id, pendingNo: i + 1 }) as unknown as UnsealedEvent);
  const read = {
    async searchPending(_f: unknown, page: { limit: number }) {
      const out = [...pending].reverse().slice(0, page.limit);
      // Sealed at once, after this read: they now top the chain.
      for (const e of pending) sealed.push({ id: e.id, seq: sealed.length + 1 } as unknown as StoredEvent);
      pending = [];
      return out;
    },
    async search(_f: unknown, page: { limit: number; beforeSeq?: number }) {
      return [...sealed]
        .reverse()
        .filter((e) => page.beforeSeq === undefined || e.seq < page.beforeSeq)
        .slice(0, page.limit);
    },
  } as unknown as AuditReadRepository;
  return read;
}

const filter = { sealed: {}, pending: {} } as unknown as ListingFilter;

describe('listPage', () => {
  it('still says there is more when the unsealed events it listed were sealed before the chain was read', async () => {
    const read = logSealingBetweenReads(['s1', 's2', 's3', 's4', 's5', 's6'], ['p1', 'p2', 'p3']);
    const page = await listPage(read, filter, 5);
    expect(page.rows.map((r) => r.id)).toEqual(['p3', 'p2', 'p1', 's6', 's5']);
    expect(page.hasMore).toBe(true);
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = await listPage(read, filter, 5, page.nextCursor!);
    expect(next.rows.map((r) => r.id)).toEqual(['s4', 's3', 's2', 's1']);
    expect(next.hasMore).toBe(false);
  });
});
