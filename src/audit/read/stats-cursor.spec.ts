import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GatewayError } from '../../common/gateway-error.js';
import type { StatsDimension } from './audit-stats-query.js';
import { decodeStatsCursor, encodeStatsCursor } from './stats-cursor.js';

const GROUPINGS: StatsDimension[][] = [['day', 'caller', 'app'], ['day'], ['caller', 'app'], ['app'], []];

describe('stats cursor', () => {
  it('gives back the key it was made from, for the grouping it was made for', () => {
    const key = { day: '2026-12-02', callerKeyId: '0b6f1c2e-7a4d-4e8b-9c1d-2f3a4b5c6d7e', appAlias: null };
    expect(decodeStatsCursor(encodeStatsCursor(['day', 'caller', 'app'], key), ['day', 'caller', 'app'])).toEqual(key);
    expect(decodeStatsCursor(encodeStatsCursor(['app'], { day: null, callerKeyId: null, appAlias: 'support' }), ['app'])).toEqual({
      day: null,
      callerKeyId: null,
      appAlias: 'support',
    });
  });

  it.each([
    ['another grouping', encodeStatsCursor(['day'], { day: '2026-12-02', callerKeyId: null, appAlias: null }), ['day', 'app']],
    ['a value for a dimension not grouped', encodeStatsCursor(['app'], { day: '2026-12-02', callerKeyId: null, appAlias: 'a' }), ['app']],
    ['a day that is no day', encodeStatsCursor(['day'], { day: '2026-13-45', callerKeyId: null, appAlias: null }), ['day']],
    ['a null day', encodeStatsCursor(['day'], { day: null, callerKeyId: null, appAlias: null }), ['day']],
    ['a caller that is no uuid', encodeStatsCursor(['caller'], { day: null, callerKeyId: "x' OR 1=1 --", appAlias: null }), ['caller']],
  ] as [string, string, StatsDimension[]][])('refuses %s with a 400', (_, cursor, groupBy) => {
    expect(() => decodeStatsCursor(cursor, groupBy)).toThrow(expect.objectContaining({ code: 'invalid_param', status: 400 }));
  });

  it('answers any text with a key or a 400, never another error', () => {
    const texts = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j).toString('base64url')),
      fc
        .tuple(fc.constantFrom(...GROUPINGS.map((g) => g.join(','))), fc.array(fc.oneof(fc.string(), fc.constant(null), fc.integer()), { maxLength: 4 }))
        .map(([g, k]) => Buffer.from(JSON.stringify({ g, k })).toString('base64url')),
    );
    fc.assert(
      fc.property(texts, fc.constantFrom(...GROUPINGS), (text, groupBy) => {
        try {
          const key = decodeStatsCursor(text, groupBy);
          expect(key.day === null).toBe(!groupBy.includes('day'));
        } catch (err) {
          expect(err).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
