import { describe, expect, it } from '@jest/globals';
import { DAY, HOUR, planStats, type StatsPiece } from './audit-stats-plan.js';

const T0 = Date.UTC(2026, 10, 20);
const MINUTE = 60_000;

/** How many times the plan counts an event recorded at `t` (each piece signed; day and hour rows cover whole buckets). */
function countAt(pieces: StatsPiece[], t: number): number {
  return pieces.reduce((n, p) => n + (p.span[0] <= t && t < p.span[1] ? p.sign : 0), 0);
}

function piecesOf(from: number, to: number): StatsPiece[] {
  const plan = planStats(from, to)!;
  return [...(plan.days ? [{ source: 'day' as const, span: plan.days, sign: 1 as const }] : []), ...plan.partial.flatMap((p) => p.pieces)];
}

/** Deterministic pseudo-random windows: aligned and not, within an hour, across midnight, several days. */
function windows(): [number, number][] {
  let state = 7;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const out: [number, number][] = [
    [T0, T0 + DAY],
    [T0 + 3 * HOUR, T0 + 9 * HOUR],
    [T0 + 22 * HOUR + 7, T0 + DAY + 3 * HOUR + 1],
    [T0 + 12 * HOUR + 30 * MINUTE, T0 + 8 * DAY],
    [T0 + 5 * MINUTE, T0 + 55 * MINUTE],
    [T0 + 25 * MINUTE, T0 + 35 * MINUTE],
  ];
  for (let i = 0; i < 300; i++) {
    const from = T0 + Math.floor(random() * 3 * DAY);
    const length = [10 * MINUTE, 2 * HOUR, 20 * HOUR, 3 * DAY][i % 4] * random();
    out.push([from, from + Math.max(1, Math.floor(length))]);
  }
  return out;
}

describe('planStats', () => {
  it('counts every instant of the window once and nothing outside it, whichever side of a cut it reads', () => {
    const wrong: { from: number; to: number; t: number; count: number }[] = [];
    for (const [from, to] of windows()) {
      const pieces = piecesOf(from, to);
      const probes = [from - 1, from, to - 1, to, from - HOUR, to + HOUR, from - DAY, to + DAY];
      for (let t = Math.floor(from / HOUR) * HOUR - DAY; t < to + DAY; t += 7 * MINUTE + 13) probes.push(t);
      for (const t of probes) {
        const count = countAt(pieces, t);
        if (count !== (t >= from && t < to ? 1 : 0)) wrong.push({ from, to, t, count });
      }
    }
    expect(wrong).toEqual([]);
  });

  it('reads day and hour rows only on their buckets, at most 13 hours of hour rows and one hour of events per cut day', () => {
    for (const [from, to] of windows()) {
      for (const { day, pieces } of planStats(from, to)!.partial) {
        for (const p of pieces) {
          const unit = p.source === 'day' ? DAY : p.source === 'hour' ? HOUR : 1;
          expect(p.span[0] % unit === 0 && p.span[1] % unit === 0 && p.span[0] >= day && p.span[1] <= day + DAY).toBe(true);
        }
        const length = (source: StatsPiece['source']) => pieces.filter((p) => p.source === source).reduce((n, p) => n + p.span[1] - p.span[0], 0);
        expect(length('hour')).toBeLessThanOrEqual(13 * HOUR);
        expect(length('events')).toBeLessThanOrEqual(HOUR);
      }
    }
  });

  it('reads the edge of a window starting at 02:27 as its day minus two hours and 27 minutes of events', () => {
    const from = T0 + 2 * HOUR + 27 * MINUTE;
    expect(planStats(from, Infinity)).toEqual({
      days: [T0 + DAY, Infinity],
      partial: [
        {
          day: T0,
          pieces: [
            { source: 'day', span: [T0, T0 + DAY], sign: 1 },
            { source: 'hour', span: [T0, T0 + 2 * HOUR], sign: -1 },
            { source: 'events', span: [T0 + 2 * HOUR, from], sign: -1 },
          ],
        },
      ],
    });
    expect(planStats(from, from)).toBeNull();
    expect(planStats(-Infinity, Infinity)).toEqual({ days: [-Infinity, Infinity], partial: [] });
  });
});
