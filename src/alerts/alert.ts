/** What an alert says; `key` makes it one occurrence (the same key is sent once, across replicas). */
export interface Alert {
  kind:
    | 'budget.80'
    | 'budget.100'
    | 'breaker.open'
    | 'breaker.closed'
    | 'audit_store.down'
    | 'audit_store.up'
    | 'key.expiring'
    | 'audit.verify_failed'
    | 'sink.lagging'
    | 'sink.caught_up';
  severity: 'info' | 'warning' | 'critical';
  /** Who or what it is about: a key id, an app alias, a sink name, `audit_store`. */
  subject: string;
  message: string;
  details: Record<string, string | number | boolean | null>;
}

export const BUDGET_THRESHOLDS = [80, 100] as const;

/** The budget thresholds a day's total has reached (each is one occurrence per key and day). */
export function budgetAlerts(s: { keyId: string; keyName: string; usedTokens: number; dailyTokens: number; day: string }): { key: string; alert: Alert }[] {
  if (s.dailyTokens <= 0) return [];
  const percent = (s.usedTokens / s.dailyTokens) * 100;
  return BUDGET_THRESHOLDS.filter((t) => percent >= t).map((t) => ({
    key: `budget.${t}:${s.keyId}:${s.day}`,
    alert: {
      kind: t === 100 ? 'budget.100' : 'budget.80',
      severity: t === 100 ? 'critical' : 'warning',
      subject: s.keyId,
      message: `key ${s.keyName} used ${t === 100 ? 'all' : `${t} %`} of its daily token budget`,
      details: { key_id: s.keyId, key_name: s.keyName, used_tokens: s.usedTokens, daily_tokens: s.dailyTokens, day: s.day },
    },
  }));
}
