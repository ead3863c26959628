import type { StoredEvent } from '../audit-event.js';
import { contiguousRun } from './contiguous-run.js';

const at = (...seqs: number[]) => seqs.map((seq) => ({ seq }) as StoredEvent);
const seqs = (events: StoredEvent[]) => events.map((e) => e.seq);

describe('contiguousRun', () => {
  it('delivers the whole scan when it follows the cursor without a gap', () => {
    expect(seqs(contiguousRun(200, at(201, 202, 203), false))).toEqual([201, 202, 203]);
  });
  it('stops before a gap inside the scan (a later round committed first)', () => {
    expect(seqs(contiguousRun(200, at(201, 202, 301, 302), false))).toEqual([201, 202]);
  });
  it('waits when the scan does not start right after the cursor', () => {
    expect(contiguousRun(200, at(301, 302), false)).toEqual([]);
  });
  it('takes a start gap once it has lasted (purged by retention)', () => {
    expect(seqs(contiguousRun(200, at(301, 302, 400), true))).toEqual([301, 302]);
  });
  it('starts a new sink at the oldest kept row', () => {
    expect(seqs(contiguousRun(0, at(106, 107), false))).toEqual([106, 107]);
    expect(contiguousRun(5, [], false)).toEqual([]);
  });
});
