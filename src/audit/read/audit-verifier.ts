import { chainHash } from '../write/audit-chain.js';
import type { Checkpoint, StoredEvent } from '../audit-event.js';
import type { AuditSigner, SignatureCheck } from '../write/audit-signer.js';

/** `unsealed`: an event recorded but left unsealed longer than the bound (`AUDIT_SEAL_MAX_LAG_MS`). */
export type TamperKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'unsealed';

export interface TamperFinding {
  kind: TamperKind;
  /** The chain position where the problem shows (for a deletion: the first missing seq). */
  seq: number;
  /** The event found there, when there is one. */
  eventId: string | null;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Events whose hash, link and signature were checked. */
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  checkpointsChecked: number;
  /** Whether signatures were checked (a signing key is configured). */
  signed: boolean;
  problem: TamperFinding | null;
  /** What weakens the proof (no signing key). */
  warnings: string[];
  /** What is normal while the gateway runs (events after the newest checkpoint): no cause for alarm. */
  notes: string[];
}

export interface ChainStart {
  /** The seq the first row must have. */
  seq: number;
  /** The hash it must link to (genesis, a retention anchor, or a checkpoint before the range). */
  prevHash: string;
}

export interface VerifyInput {
  start: ChainStart;
  rows: AsyncIterable<StoredEvent>;
  /** Checkpoints inside the verified range, ascending by seq. */
  checkpoints: Checkpoint[];
  /** The newest checkpoint of all, when the range runs to the end of the log (truncation check). */
  latestCheckpoint?: Checkpoint | null;
  signer: AuditSigner;
}

/** Rows read ahead to tell a moved row from a deleted or inserted one. */
const LOOKAHEAD = 256;

/**
 * Walks the chain in `seq` order and reports the first bad record and what was done to it:
 * - edited: a row's content no longer matches its hash, or its hash was recomputed (the
 *   signature, or the next row's link, or a checkpoint, no longer matches);
 * - deleted: a row is missing (a gap, a link to a hash that is nowhere, or, against the newest
 *   signed checkpoint, the newest rows cut off);
 * - inserted: a row the gateway did not write (unsigned, or the rows around it link past it);
 * - reordered: rows are all there but not in chain order (a link points to a row further on).
 */
export async function verifyChain(input: VerifyInput): Promise<VerifyResult> {
  const { signer } = input;
  const result: VerifyResult = {
    ok: true,
    checked: 0,
    firstSeq: null,
    lastSeq: null,
    checkpointsChecked: 0,
    signed: signer.enabled,
    problem: null,
    warnings: [],
    notes: [],
  };
  if (!signer.enabled)
    result.warnings.push(
      'no signing key loaded: signatures are not checked, ' +
        'so rows rewritten together with every following hash, or forged at the end, cannot be told from real ones',
    );
  const fail = (kind: TamperKind, seq: number, eventId: string | null, message: string): VerifyResult => {
    result.ok = false;
    result.problem = { kind, seq, eventId, message };
    return result;
  };

  const checkpoints = new Map<number, Checkpoint[]>();
  for (const cp of input.checkpoints) checkpoints.set(cp.seq, [...(checkpoints.get(cp.seq) ?? []), cp]);
  for (const cp of [...input.checkpoints, ...(input.latestCheckpoint ? [input.latestCheckpoint] : [])]) {
    const check = signer.enabled ? signer.checkCheckpoint(cp) : 'valid';
    if (check !== 'valid') return fail('edited', cp.seq, null, `the checkpoint at seq ${cp.seq} (${cp.createdAt.toISOString()}) ${signatureWords(check)}`);
  }

  const reader = new Lookahead(input.rows);
  let expectedPrev = input.start.prevHash;
  let expectedSeq = input.start.seq;
  /** The hash the previous accepted row linked to: a row linking to it skipped the previous row. */
  let skippedPrev: string | null = null;

  for (let row = await reader.next(); row; row = await reader.next()) {
    result.firstSeq ??= row.seq;
    const next = await reader.peek(0);
    const contentOk = chainHash(row.prevHash, row, row.recordedAt) === row.hash;
    const signature = signer.enabled ? signer.checkEvent(row.hash, row.keyId, row.signature) : 'valid';
    const linked = row.prevHash === expectedPrev;

    if (!linked) {
      if (contentOk && signature === 'valid' && (await reader.find((r) => r.hash === row.prevHash))) {
        return fail('reordered', row.seq, row.id, `event ${row.seq} is out of order: the event it follows comes later in the chain`);
      }
      if (skippedPrev !== null && row.prevHash === skippedPrev) {
        return fail('inserted', row.seq - 1, null, `event ${row.seq - 1} does not belong to the chain: event ${row.seq} links to the event before it`);
      }
      if (next?.prevHash === expectedPrev || (!next && (!contentOk || signature === 'missing'))) {
        return fail('inserted', row.seq, row.id, `event ${row.seq} does not belong to the chain: it is not linked to the event before it`);
      }
      if (row.seq > expectedSeq) {
        const many = row.seq - 1 > expectedSeq;
        const gap = many ? `events ${expectedSeq}-${row.seq - 1} are` : `event ${expectedSeq} is`;
        return fail('deleted', expectedSeq, null, `${gap} missing: event ${row.seq} links to a hash that is no longer stored`);
      }
      if (skippedPrev === null) {
        return fail('deleted', expectedSeq, row.id, `the chain does not start where it should: events before ${row.seq} are missing`);
      }
      return fail('edited', row.seq - 1, null, `event ${row.seq - 1} was rewritten together with its hash: event ${row.seq} still links to the original`);
    }
    if (signature === 'missing') {
      return fail('inserted', row.seq, row.id, `event ${row.seq} was not written by the gateway: it ${signatureWords(signature)}`);
    }
    if (!contentOk) {
      return fail('edited', row.seq, row.id, `event ${row.seq} was changed after it was written: its content no longer matches its hash`);
    }
    if (signature !== 'valid') {
      return fail('edited', row.seq, row.id, `event ${row.seq} was rewritten together with its hash: it ${signatureWords(signature)}`);
    }
    if (row.seq !== expectedSeq) {
      return fail('edited', row.seq, row.id, `event at seq ${row.seq} should be at seq ${expectedSeq}: its position was changed`);
    }
    for (const cp of checkpoints.get(row.seq) ?? []) {
      result.checkpointsChecked += 1;
      if (cp.hash !== row.hash) {
        return fail(
          'edited',
          row.seq,
          row.id,
          `event ${row.seq} differs from what the checkpoint of ${cp.createdAt.toISOString()} signed: the chain up to it was rewritten`,
        );
      }
    }
    result.checked += 1;
    result.lastSeq = row.seq;
    skippedPrev = expectedPrev;
    expectedPrev = row.hash;
    expectedSeq = row.seq + 1;
  }

  const lastSeq = expectedSeq - 1;
  for (const [seq] of checkpoints) {
    if (seq > lastSeq) return fail('deleted', lastSeq + 1, null, `events ${lastSeq + 1}-${seq} are missing: a checkpoint covers seq ${seq}`);
  }
  const latest = input.latestCheckpoint;
  if (latest && latest.seq > lastSeq) {
    return fail(
      'deleted',
      lastSeq + 1,
      null,
      `the newest events ${lastSeq + 1}-${latest.seq} were deleted: the checkpoint of ${latest.createdAt.toISOString()} covers seq ${latest.seq}`,
    );
  }
  if (latest !== undefined && lastSeq > (latest?.seq ?? 0)) {
    const after = lastSeq - (latest?.seq ?? 0);
    result.notes.push(`${after === 1 ? '1 newest event is' : `${after} newest events are`} not covered by a checkpoint yet (the next checkpoint covers them)`);
  }
  return result;
}

function signatureWords(check: SignatureCheck): string {
  switch (check) {
    case 'missing':
      return 'carries no signature';
    case 'unknown_key':
      return 'is signed with a key that is not loaded (add retired keys below the current one in AUDIT_SIGNING_KEY_FILE)';
    default:
      return 'has a signature that does not match';
  }
}

/** An async iterator with a bounded read-ahead buffer. */
class Lookahead<T> {
  private readonly iterator: AsyncIterator<T>;
  private readonly buffer: T[] = [];
  private done = false;

  constructor(source: AsyncIterable<T>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  async next(): Promise<T | undefined> {
    if (this.buffer.length === 0) await this.fill(1);
    return this.buffer.shift();
  }

  async peek(index: number): Promise<T | undefined> {
    await this.fill(index + 1);
    return this.buffer[index];
  }

  /** Whether one of the next `LOOKAHEAD` items matches. */
  async find(match: (item: T) => boolean): Promise<boolean> {
    await this.fill(LOOKAHEAD);
    return this.buffer.some(match);
  }

  private async fill(count: number): Promise<void> {
    while (!this.done && this.buffer.length < count) {
      const item = await this.iterator.next();
      if (item.done) this.done = true;
      else this.buffer.push(item.value);
    }
  }
}
