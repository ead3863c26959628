import { describe, expect, it } from '@jest/globals';
import { summarizeVerify, type SummaryInput } from './verify-summary.js';

const base: SummaryInput = {
  ok: true,
  checked: 0,
  firstSeq: null,
  lastSeq: null,
  checkpointsChecked: 0,
  signed: true,
  problem: null,
  warnings: [],
  notes: [],
  range: { fromSeq: null, toSeq: null },
  startedFrom: 'genesis',
  unsealed: { count: 0, oldestAgeMs: null },
};

describe('summarizeVerify: one line, calm when all is well', () => {
  it('a fresh log, with one event waiting for the next seal', () => {
    expect(summarizeVerify(base, 100)).toBe('OK: 0 events sealed yet.');
    const pending = { ...base, unsealed: { count: 1, oldestAgeMs: 50 } };
    expect(summarizeVerify(pending, 100)).toBe('OK: 0 events sealed yet; 1 pending (50 ms old): sealing runs every 100 ms.');
  });

  it('a verified chain, a range, no signing key', () => {
    const chain = { ...base, checked: 1, firstSeq: 1, lastSeq: 1, checkpointsChecked: 1 };
    expect(summarizeVerify(chain, 100)).toBe('OK: 1 event verified (seq 1-1), 1 checkpoint, signatures checked, chain walked from the genesis.');
    const range = { ...chain, checked: 4, firstSeq: 2, lastSeq: 5, checkpointsChecked: 0, signed: false, range: { fromSeq: 2, toSeq: 5 } };
    expect(summarizeVerify({ ...range, startedFrom: 'checkpoint' }, 100)).toBe(
      'OK: 4 events verified (seq 2-5, for the range 2-5), 0 checkpoints, signatures NOT checked (no signing key), chain walked from the checkpoint.',
    );
  });

  it('tampering and a stuck sequencer are said plainly', () => {
    const problem = { kind: 'edited' as const, seq: 7, eventId: 'e-7', message: 'event 7 was changed after it was written' };
    const edited = { ...base, ok: false, checked: 6, problem };
    expect(summarizeVerify(edited, 100)).toBe('TAMPERED: edited at seq 7 (event e-7): event 7 was changed after it was written (6 events verified before it)');
    const stuck = { ...base, ok: false, checked: 3, problem: { kind: 'unsealed' as const, seq: 4, eventId: 'e', message: 'event e is still not sealed' } };
    expect(summarizeVerify(stuck, 100)).toBe('NOT SEALED: event e is still not sealed (3 sealed events verified)');
  });
});
