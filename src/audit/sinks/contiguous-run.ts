import type { StoredEvent } from '../audit-event.js';

/**
 * The part of a scan a sink may deliver: the run of consecutive seqs that starts right after
 * `afterSeq`. A later seq can be visible before an earlier one (a seal round committing while
 * the scan reads, or PGlite's one shared session), and a cursor moved past a gap would skip
 * those events for good; so a gap waits for the next round. A sink with nothing delivered yet
 * (`afterSeq` 0) starts at the oldest row retention kept.
 */
export function contiguousRun(afterSeq: number, events: readonly StoredEvent[], acceptStartGap: boolean): StoredEvent[] {
  if (events.length === 0) return [];
  if (afterSeq > 0 && events[0].seq !== afterSeq + 1 && !acceptStartGap) return [];
  let end = 1;
  while (end < events.length && events[end].seq === events[end - 1].seq + 1) end++;
  return events.slice(0, end);
}
