import type { VerifyResult } from './audit-verifier.js';

interface Pending {
  count: number;
  oldestAgeMs: number | null;
}

/** What the summary reads of a `VerifyReport` (audit-verify.service.ts). */
export interface SummaryInput extends VerifyResult {
  range: { fromSeq: number | null; toSeq: number | null };
  startedFrom: string;
  unsealed: Pending | null;
}

const events = (n: number) => `${n} ${n === 1 ? 'event' : 'events'}`;

/** `1 event recorded, not sealed yet (50 ms old)`. */
export function pendingWords(u: Pending): string {
  return `${events(u.count)} recorded, not sealed yet (${u.count === 1 ? '' : 'oldest '}${u.oldestAgeMs ?? 0} ms old)`;
}

/**
 * The one line `GET /audit/verify` (`summary`) and `audit verify` print. A fresh log, or events
 * waiting for the next seal, read as what they are: normal.
 */
export function summarizeVerify(r: SummaryInput, sealIntervalMs: number): string {
  const problem = r.problem;
  if (problem?.kind === 'unsealed') return `NOT SEALED: ${problem.message} (${r.checked} sealed ${r.checked === 1 ? 'event' : 'events'} verified)`;
  if (problem) {
    const event = problem.eventId ? ` (event ${problem.eventId})` : '';
    return `TAMPERED: ${problem.kind} at seq ${problem.seq}${event}: ${problem.message} (${events(r.checked)} verified before it)`;
  }
  const asked = r.range.fromSeq !== null || r.range.toSeq !== null ? `, for the range ${r.range.fromSeq ?? 'start'}-${r.range.toSeq ?? 'end'}` : '';
  const verified =
    r.firstSeq === null
      ? `0 events sealed yet${asked}`
      : `${events(r.checked)} verified (seq ${r.firstSeq}-${r.lastSeq}${asked}), ${r.checkpointsChecked} checkpoint${r.checkpointsChecked === 1 ? '' : 's'}, ` +
        `signatures ${r.signed ? 'checked' : 'NOT checked (no signing key)'}, chain walked from the ${r.startedFrom}`;
  const u = r.unsealed;
  const pending = u && u.count > 0 ? `; ${u.count} pending (${u.oldestAgeMs ?? 0} ms old): sealing runs every ${sealIntervalMs} ms` : '';
  return `OK: ${verified}${pending}.`;
}
