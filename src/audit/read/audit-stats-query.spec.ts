import { describe, expect, it } from '@jest/globals';
import { costsOf } from './audit-stats-query.js';

describe('costsOf', () => {
  it('sums a currency met more than once exactly, in decimal, and trims the result', () => {
    expect(costsOf(['USD 0.10000000', 'EUR 2', 'USD 0.2', 'USD 0.00000001'])).toEqual({ EUR: '2', USD: '0.30000001' });
    expect(costsOf(['USD 1.5', 'USD -2.25'])).toEqual({ USD: '-0.75' });
    expect(costsOf(['USD 999999999999999999999999999999.5', 'USD 0.5'])).toEqual({ USD: '1000000000000000000000000000000' });
  });

  it('keeps a currency with a space or an empty name apart from its amount, keys in jsonb order (shorter first)', () => {
    const costs = costsOf(['US D 1', ' 2', 'EURO 3', 'USD 4']);
    expect(costs).toEqual({ '': '2', USD: '4', EURO: '3', 'US D': '1' });
    expect(Object.keys(costs)).toEqual(['', 'USD', 'EURO', 'US D']);
    expect(costsOf([])).toEqual({});
  });
});
