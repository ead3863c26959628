import { useEffect, useState } from 'preact/hooks';
import { getJson, type StatsRow } from './api';
import { Columns, HBars, type Bar } from './charts';
import type { Session } from './session';

const DAY = 86_400_000;

/** Calls, errors, tokens and cost per day and per team (key), from `GET /audit/stats`. */
export function UsageView({ session, onError }: { session: Session; onError: (e: Error) => void }) {
  const [days, setDays] = useState(30);
  const [byDay, setByDay] = useState<StatsRow[] | null>(null);
  const [byTeam, setByTeam] = useState<StatsRow[] | null>(null);
  useEffect(() => {
    const from = new Date(Math.floor(Date.now() / DAY) * DAY - (days - 1) * DAY).toISOString();
    getJson<{ data: StatsRow[] }>(session, '/audit/stats', { from, group_by: 'day' }).then((r) => setByDay(r.data), onError);
    // The busiest teams are picked from every team: the API's largest page, not its default 1,000.
    getJson<{ data: StatsRow[] }>(session, '/audit/stats', { from, group_by: 'caller', limit: 10_000 }).then((r) => setByTeam(r.data), onError);
  }, [days]);
  const daily = fillDays(byDay ?? [], days);
  const teams = [...(byTeam ?? [])].sort((a, b) => b.calls - a.calls).slice(0, 12);
  const teamName = (r: StatsRow) => r.caller_name ?? r.caller_key_id ?? '(no key)';
  return (
    <section class="panel" aria-labelledby="usage-heading">
      <div class="panel-head">
        <h2 id="usage-heading">Usage</h2>
        <label>
          Period
          <select value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            <option value="7">last 7 days</option>
            <option value="30">last 30 days</option>
            <option value="90">last 90 days</option>
          </select>
        </label>
      </div>
      <div class="charts">
        <Columns title="Calls per day (errors darker)" partLabel="errors" bars={daily.map((r) => ({ label: r.day, value: r.calls, part: r.errors }))} />
        <Columns title="Tokens per day" bars={daily.map((r) => ({ label: r.day, value: r.tokens }))} />
        <Columns title={`Cost per day (${costCurrency(byDay ?? [])})`} bars={daily.map((r) => ({ label: r.day, value: r.cost }))} />
        <HBars title="Calls per team (errors darker)" bars={teams.map((r): Bar => ({ label: teamName(r), value: r.calls, part: r.errors }))} />
        <HBars title="Tokens per team" bars={teams.map((r): Bar => ({ label: teamName(r), value: r.total_tokens }))} />
      </div>
    </section>
  );
}

/** One entry per day of the period, zero where the API has no row. */
function fillDays(rows: StatsRow[], days: number) {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const currency = costCurrency(rows);
  const today = Math.floor(Date.now() / DAY) * DAY;
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(today - (days - 1 - i) * DAY).toISOString().slice(0, 10);
    const r = byDay.get(day);
    return { day, calls: r?.calls ?? 0, errors: r?.errors ?? 0, tokens: r?.total_tokens ?? 0, cost: Number(r?.cost[currency] ?? 0) };
  });
}

/** The currency with the most spend (costs in different currencies are never added up). */
function costCurrency(rows: StatsRow[]): string {
  const totals = new Map<string, number>();
  for (const r of rows) for (const [c, v] of Object.entries(r.cost)) totals.set(c, (totals.get(c) ?? 0) + Number(v));
  return [...totals].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'USD';
}
