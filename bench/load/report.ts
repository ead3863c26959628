/**
 * The bench's one Markdown table: a row per target, the direct row as the baseline of every
 * "added" figure and the bare Node proxy as the reference of the closed-loop ratio.
 */
import type { LoadResult } from './loaders.js';
import type { ChunkDelay, ConcurrentStreams } from './streams.js';

export interface Row {
  name: string;
  /** Why the row has no figures (for example nginx not installed). */
  skipped?: string;
  closed?: LoadResult;
  /** Median closed-loop ratio to the bare proxy over alternating rounds. */
  pairedRatio?: number;
  open: Map<number, LoadResult>;
  sse?: ChunkDelay;
  streams?: ConcurrentStreams;
  peakRssMb?: number;
  rssAfterMb?: number;
  /** Audit events recorded per second during the closed loop, and the catch-up after it. */
  audit?: string;
  errors: number;
  notes: string[];
}

export function newRow(name: string): Row {
  return { name, open: new Map(), errors: 0, notes: [] };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isNaN(n) ? 'n/a' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : int(n));
const signed = (n: number) => (Number.isNaN(n) ? 'n/a' : `${n >= 0 ? '+' : '−'}${ms(Math.abs(n))}`);
const mb = (n: number | undefined) => (n === undefined ? '' : `${int(n)} MB`);

function openCell(result: LoadResult | undefined, base: LoadResult | undefined, isBase: boolean): string {
  if (!result) return '';
  const served = `${int(result.rps)}/s`;
  if (isBase || !base) return `${served}, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}`;
  return `${served}, p50 ${ms(result.p50Ms)} (${signed(result.p50Ms - base.p50Ms)}), p99 ${ms(result.p99Ms)} (${signed(result.p99Ms - base.p99Ms)})`;
}

export function renderTable(rows: Row[], rates: number[], streams: number): string {
  const direct = rows.find((r) => r.name.startsWith('direct'));
  const bare = rows.find((r) => r.name.startsWith('bare'));
  const header = [
    '',
    'closed loop rps',
    'p50 / p99 ms',
    'vs bare proxy',
    ...rates.map((r) => `open ${int(r)} rps: served, ms (added)`),
    'SSE per-chunk p50 ms (added)',
    `${int(streams)} streams: all open / done s`,
    'peak RSS',
    'RSS after load',
    'audit events/s sealed',
    'errors',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    if (row.skipped) {
      lines.push(`| ${row.name} | ${row.skipped} |${' |'.repeat(header.length - 2)}`);
      continue;
    }
    const isBase = row === direct;
    const c = row.closed;
    const paired = row.pairedRatio === undefined ? '' : ` (paired ${int(100 * row.pairedRatio)} %)`;
    const ratio = c && bare?.closed && row !== bare ? `${int((100 * c.rps) / bare.closed.rps)} %${paired}` : '';
    const sse = row.sse ? (isBase || !direct?.sse ? ms(row.sse.p50Ms) : `${ms(row.sse.p50Ms)} (${signed(row.sse.p50Ms - direct.sse.p50Ms)})`) : '';
    const s = row.streams;
    const streamCell = s ? `${Number.isNaN(s.allOpenMs) ? `${s.opened} opened` : (s.allOpenMs / 1000).toFixed(2)} / ${(s.allDoneMs / 1000).toFixed(1)}` : '';
    lines.push(
      `| ${[
        row.name,
        c ? int(c.rps) : '',
        c ? `${ms(c.p50Ms)} / ${ms(c.p99Ms)}` : '',
        ratio,
        ...rates.map((r) => openCell(row.open.get(r), direct?.open.get(r), isBase)),
        sse,
        streamCell,
        mb(row.peakRssMb),
        mb(row.rssAfterMb),
        row.audit ?? '',
        int(row.errors),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function renderNotes(rows: Row[]): string {
  return rows.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${n}`)).join('\n');
}
