import { describe, expect, it } from '@jest/globals';
import { RefusalBudget } from './refusal-budget.js';

describe('RefusalBudget', () => {
  const options = { burst: 3, perSecond: 1, totalPerSecond: 5, maxSources: 2, maxCounted: 2 };

  it('lets a source write its burst, then its rate; counts every refusal', () => {
    let now = 0;
    const budget = new RefusalBudget(options, () => now);
    const admitted = Array.from({ length: 1000 }, () => budget.admit('10.0.0.1', 'unknown_key')).filter(Boolean).length;
    expect(admitted).toBe(3);
    now += 2000;
    expect(budget.admit('10.0.0.1', 'unknown_key')).toBe(true);
    expect(budget.admit('10.0.0.1', 'unknown_key')).toBe(true);
    expect(budget.admit('10.0.0.1', 'unknown_key')).toBe(false);
    expect(budget.take()).toMatchObject({ total: 1003, suppressed: 998, counts: [{ source: '10.0.0.1', reason: 'unknown_key', count: 1003 }], other: 0 });
    expect(budget.take()).toBeUndefined();
  });

  it('bounds all sources together, and its memory', () => {
    let now = 0;
    const budget = new RefusalBudget(options, () => now);
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (budget.admit(`10.0.1.${i}`, 'no_key')) admitted++;
    expect(admitted).toBe(5);
    const summary = budget.take()!;
    expect(summary.total).toBe(100);
    expect(summary.counts).toHaveLength(2);
    expect(summary.other).toBe(98);
    now += 1;
  });
});
