import type { AuditRow, UnsealedEvent } from '../audit-event.js';
import type { AuditReadRepository, EventFilter } from './audit-read.repository.js';
import { GatewayErrors } from '../../common/errors/gateway-errors.js';

/**
 * Lists and exports over both kinds of event: the sealed chain and the inbox of events recorded
 * but not sealed yet (`sealed: false`, no `seq`).
 */

/** Sealed events match `sealed` (null: the time range holds none); unsealed ones match `pending`. */
export interface ListingFilter {
  sealed: EventFilter | null;
  pending: EventFilter;
}

export interface ListingPage {
  rows: AuditRow[];
  hasMore: boolean;
  nextCursor: string | null;
}

type Cursor = { part: 'pending'; before: number } | { part: 'sealed'; before: number };

/**
 * Newest first: the unsealed events (newest recorded first) come before the sealed ones (highest
 * seq first); they are the newest. Keyset cursors on `pending_no`, then on `seq`, so pages stay
 * stable while events are written. An event sealed while one pages may show twice (unsealed on
 * one page, sealed on a later one), never not at all.
 */
export async function listPage(read: AuditReadRepository, filter: ListingFilter, limit: number, cursor?: string): Promise<ListingPage> {
  const at = cursor ? decodeCursor(cursor) : undefined;
  const rows: AuditRow[] = [];
  if (!at || at.part === 'pending') {
    const pending = await read.searchPending(filter.pending, { limit: limit + 1, beforePendingNo: at?.before });
    if (pending.length > limit) {
      const page = pending.slice(0, limit);
      return { rows: page, hasMore: true, nextCursor: encodeCursor({ part: 'pending', before: page[page.length - 1].pendingNo }) };
    }
    rows.push(...pending);
  }
  const room = limit - rows.length;
  const seen = new Set(rows.map((r) => r.id));
  const sealed =
    filter.sealed && room > 0
      ? // The unsealed rows just listed may have been sealed since: ask for as many more, so that
        // dropping them still leaves `room + 1` rows to tell whether there are more.
        (await read.search(filter.sealed, { limit: room + 1 + seen.size, beforeSeq: at?.part === 'sealed' ? at.before : undefined })).filter(
          (e) => !seen.has(e.id),
        )
      : [];
  const hasMore = sealed.length > room || (room === 0 && filter.sealed !== null && (await read.search(filter.sealed, { limit: 1 })).length > 0);
  const page = sealed.slice(0, room);
  rows.push(...page);
  const last = page.at(-1);
  if (!hasMore) return { rows, hasMore, nextCursor: null };
  const next: Cursor = last ? { part: 'sealed', before: last.seq } : { part: 'sealed', before: Number.MAX_SAFE_INTEGER };
  return { rows, hasMore, nextCursor: encodeCursor(next) };
}

/**
 * Oldest first, in batches: the sealed events by seq, then the unsealed ones in the order they
 * were recorded, then the events sealed meanwhile that were not seen unsealed. So every event is
 * in the export exactly once, whatever the sequencer does while it runs.
 */
export async function* exportRows(read: AuditReadRepository, filter: ListingFilter, batchSize: number): AsyncGenerator<AuditRow[]> {
  let afterSeq: number | undefined;
  const sealedPass = async function* (skip: Set<string>): AsyncGenerator<AuditRow[]> {
    while (filter.sealed) {
      const batch = await read.scan(filter.sealed, { limit: batchSize, afterSeq });
      if (batch.length === 0) return;
      afterSeq = batch[batch.length - 1].seq;
      const fresh = skip.size ? batch.filter((e) => !skip.has(e.id)) : batch;
      if (fresh.length) yield fresh;
      if (batch.length < batchSize) return;
    }
  };
  yield* sealedPass(new Set());
  const seenUnsealed = new Set<string>();
  let afterPendingNo: number | undefined;
  for (;;) {
    const batch: UnsealedEvent[] = await read.scanPending(filter.pending, { limit: batchSize, afterPendingNo });
    if (batch.length === 0) break;
    for (const e of batch) seenUnsealed.add(e.id);
    afterPendingNo = batch[batch.length - 1].pendingNo;
    yield batch;
    if (batch.length < batchSize) break;
  }
  yield* sealedPass(seenUnsealed);
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(cursor.part === 'sealed' ? `seq:${cursor.before}` : `pending:${cursor.before}`).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  const match = /^(seq|pending):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const before = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(before) || before < 1) throw GatewayErrors.invalidParam('cursor is not a cursor returned by this endpoint.');
  return match[1] === 'seq' ? { part: 'sealed', before } : { part: 'pending', before };
}
