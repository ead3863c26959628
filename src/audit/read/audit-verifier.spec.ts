import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Secret } from '../../config/secret.js';
import { chainHash, GENESIS_HASH, linkEvents, toEventBody } from '../write/audit-chain.js';
import type { Checkpoint, StoredEvent } from '../audit-event.js';
import { AuditSigner } from '../write/audit-signer.js';
import { verifyChain } from './audit-verifier.js';

const SIGNED = new AuditSigner([new Secret('s'.repeat(48))]);
const UNSIGNED = new AuditSigner([]);

/** A chain of `n` events written in batches of 3, as the writer would. */
function chain(n: number, signer = SIGNED): StoredEvent[] {
  const out: StoredEvent[] = [];
  let head = { seq: 0, hash: GENESIS_HASH, recordedAt: null as Date | null };
  for (let i = 0; i < n; i += 3) {
    const bodies = Array.from({ length: Math.min(3, n - i) }, (_, k) =>
      toEventBody({ id: randomUUID(), type: 'call.started', requestId: `req-${i + k}`, callId: randomUUID(), endUser: 'alice' }),
    );
    const linked = linkEvents(head, bodies, new Date(Date.UTC(2026, 11, 1, 0, 0, i)), signer);
    out.push(...linked);
    const last = linked[linked.length - 1];
    head = { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt };
  }
  return out;
}

function checkpointAt(event: StoredEvent, signer = SIGNED, kind: Checkpoint['kind'] = 'periodic'): Checkpoint {
  const cp = { id: randomUUID(), seq: event.seq, hash: event.hash, kind, createdAt: new Date('2026-12-02T00:00:00Z') };
  const sig = signer.signCheckpoint(cp);
  return { ...cp, keyId: sig?.keyId ?? null, signature: sig?.signature ?? null };
}

async function* iterate(rows: StoredEvent[]): AsyncGenerator<StoredEvent> {
  yield* [...rows].sort((a, b) => a.seq - b.seq);
}

function verify(
  rows: StoredEvent[],
  opts: { signer?: AuditSigner; checkpoints?: Checkpoint[]; latest?: Checkpoint | null; start?: { seq: number; prevHash: string } } = {},
) {
  const checkpoints = opts.checkpoints ?? [];
  return verifyChain({
    start: opts.start ?? { seq: 1, prevHash: GENESIS_HASH },
    rows: iterate(rows),
    checkpoints,
    latestCheckpoint: opts.latest === undefined ? (checkpoints.at(-1) ?? null) : opts.latest,
    signer: opts.signer ?? SIGNED,
  });
}

/** Recomputes hashes from `from` on, as an attacker who knows the algorithm (but not the key) would. */
function rehashFrom(rows: StoredEvent[], from: number): StoredEvent[] {
  const out = rows.map((r) => ({ ...r }));
  for (let i = from; i < out.length; i++) {
    if (i > 0) out[i].prevHash = out[i - 1].hash;
    out[i].hash = chainHash(out[i].prevHash, out[i], out[i].recordedAt);
  }
  return out;
}

describe('verifyChain', () => {
  it('accepts an intact chain, signed or not, and says when signatures were not checked', async () => {
    const rows = chain(20);
    const ok = await verify(rows, { checkpoints: [checkpointAt(rows[9]), checkpointAt(rows[19])] });
    expect(ok).toMatchObject({ ok: true, checked: 20, firstSeq: 1, lastSeq: 20, checkpointsChecked: 2, signed: true, problem: null, warnings: [] });
    const plain = await verify(chain(5, UNSIGNED), { signer: UNSIGNED });
    expect(plain).toMatchObject({ ok: true, signed: false });
    expect(plain.warnings.join(' ')).toMatch(/no signing key/);
  });

  it('edited: a changed field no longer matches its hash', async () => {
    const rows = chain(10);
    rows[4] = { ...rows[4], endUser: 'mallory' };
    expect((await verify(rows)).problem).toMatchObject({ kind: 'edited', seq: 5, eventId: rows[4].id });
  });

  it('edited: a row rewritten with its hash recomputed fails its signature (signed) or the next link (unsigned)', async () => {
    const signed = chain(10);
    signed[4] = { ...signed[4], endUser: 'mallory' };
    expect((await verify(rehashFrom(signed, 4).slice(0, 5).concat(signed.slice(5)))).problem).toMatchObject({ kind: 'edited', seq: 5 });
    const plain = chain(10, UNSIGNED);
    plain[4] = { ...plain[4], endUser: 'mallory' };
    const tampered = rehashFrom(plain, 4).slice(0, 5).concat(plain.slice(5));
    expect((await verify(tampered, { signer: UNSIGNED })).problem).toMatchObject({ kind: 'edited', seq: 5 });
  });

  it('edited: the whole chain rewritten after a row is caught by the next signed checkpoint, even without row signatures', async () => {
    const plain = chain(10, UNSIGNED);
    const cp = checkpointAt(plain[7], SIGNED);
    plain[2] = { ...plain[2], outcome: 'success' };
    const rewritten = rehashFrom(plain, 2);
    const result = await verifyChain({
      start: { seq: 1, prevHash: GENESIS_HASH },
      rows: iterate(rewritten),
      checkpoints: [cp],
      latestCheckpoint: cp,
      signer: new AuditSigner([new Secret('s'.repeat(48))]),
    });
    // Rows carry no signature here (written unsigned), so the first one already fails as not written by the gateway.
    expect(result.problem?.kind).toBe('inserted');
    const unsignedView = await verifyChain({
      start: { seq: 1, prevHash: GENESIS_HASH },
      rows: iterate(rewritten),
      checkpoints: [{ ...cp }],
      latestCheckpoint: cp,
      signer: UNSIGNED,
    });
    expect(unsignedView.problem).toMatchObject({ kind: 'edited', seq: 8 });
  });

  it('deleted: a row in the middle', async () => {
    const rows = chain(10);
    expect((await verify(rows.filter((r) => r.seq !== 6))).problem).toMatchObject({ kind: 'deleted', seq: 6, eventId: null });
    expect((await verify(rows.filter((r) => r.seq < 4 || r.seq > 6))).problem?.message).toMatch(/events 4-6 are missing/);
  });

  it('deleted: the oldest rows, without a retention anchor', async () => {
    const rows = chain(10);
    expect((await verify(rows.slice(3))).problem).toMatchObject({ kind: 'deleted', seq: 1 });
  });

  it('deleted: the newest rows, against the newest signed checkpoint', async () => {
    const rows = chain(10);
    const cp = checkpointAt(rows[9]);
    const result = await verify(rows.slice(0, 7), { checkpoints: [], latest: cp });
    expect(result.problem).toMatchObject({ kind: 'deleted', seq: 8 });
    expect(result.problem?.message).toMatch(/newest events 8-10 were deleted/);
  });

  it('inserted: a forged row appended with a correct hash but no signature', async () => {
    const rows = chain(10);
    const last = rows[9];
    const forged = toEventBody({ id: randomUUID(), type: 'call.started', requestId: 'forged' });
    const [row] = linkEvents({ seq: last.seq, hash: last.hash, recordedAt: last.recordedAt }, [forged], last.recordedAt, UNSIGNED);
    expect((await verify([...rows, row])).problem).toMatchObject({ kind: 'inserted', seq: 11, eventId: row.id });
    // Without a key there is no way to tell: say so instead of claiming more.
    const plain = chain(10, UNSIGNED);
    const [plainRow] = linkEvents({ seq: 10, hash: plain[9].hash, recordedAt: plain[9].recordedAt }, [forged], plain[9].recordedAt, UNSIGNED);
    const unsignedResult = await verify([...plain, plainRow], { signer: UNSIGNED });
    expect(unsignedResult.ok).toBe(true);
    expect(unsignedResult.warnings.join(' ')).toMatch(/forged at the end/);
  });

  it('inserted: a row slipped into the middle (later rows renumbered), signed or not', async () => {
    for (const signer of [SIGNED, UNSIGNED]) {
      const rows = chain(10, signer);
      const forged = toEventBody({ id: randomUUID(), type: 'call.started', requestId: 'forged' });
      const [row] = linkEvents({ seq: 4, hash: rows[3].hash, recordedAt: rows[3].recordedAt }, [forged], rows[3].recordedAt, UNSIGNED);
      const tampered = [...rows.slice(0, 4), { ...row, seq: 5 }, ...rows.slice(4).map((r) => ({ ...r, seq: r.seq + 1 }))];
      expect((await verify(tampered, { signer })).problem).toMatchObject({ kind: 'inserted', seq: 5 });
    }
  });

  it('inserted: a copy of a real row with a new id and a made-up hash, at the end', async () => {
    const rows = chain(6);
    const copy = { ...rows[2], id: randomUUID(), seq: 7, hash: 'e'.repeat(64) };
    expect((await verify([...rows, copy])).problem).toMatchObject({ kind: 'inserted', seq: 7 });
  });

  it('reordered: two rows swapped, next to each other or apart', async () => {
    const rows = chain(10);
    const swap = (a: number, b: number) => rows.map((r) => (r.seq === a ? { ...r, seq: b } : r.seq === b ? { ...r, seq: a } : r));
    expect((await verify(swap(4, 5))).problem).toMatchObject({ kind: 'reordered', seq: 4 });
    expect((await verify(swap(2, 8))).problem).toMatchObject({ kind: 'reordered', seq: 2 });
  });

  it('starts after a retention anchor; deleting past it is a deletion', async () => {
    const rows = chain(10);
    const anchor = checkpointAt(rows[3], SIGNED, 'anchor');
    const start = { seq: 5, prevHash: anchor.hash };
    expect((await verify(rows.slice(4), { start, checkpoints: [anchor], latest: anchor })).ok).toBe(true);
    expect((await verify(rows.slice(6), { start, checkpoints: [anchor], latest: anchor })).problem).toMatchObject({ kind: 'deleted', seq: 5 });
  });

  it('rejects a checkpoint that is forged or altered, and one that contradicts the chain', async () => {
    const rows = chain(6);
    const cp = checkpointAt(rows[5]);
    expect((await verify(rows, { checkpoints: [{ ...cp, seq: 4 }] })).problem).toMatchObject({ kind: 'edited', seq: 4 });
    expect((await verify(rows, { checkpoints: [{ ...cp, signature: null, keyId: null }] })).problem?.message).toMatch(/no signature/);
    const lying = checkpointAt({ ...rows[2], hash: 'd'.repeat(64) });
    expect((await verify(rows, { checkpoints: [lying], latest: cp })).problem).toMatchObject({ kind: 'edited', seq: 3 });
  });

  it('names a signature from a key that is not loaded', async () => {
    const rows = chain(3, new AuditSigner([new Secret('o'.repeat(40))]));
    const result = await verify(rows);
    expect(result.problem?.kind).toBe('edited');
    expect(result.problem?.message).toMatch(/key that is not loaded/);
  });
});
