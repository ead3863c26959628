import type { Writable } from 'node:stream';
import type { AuditRow } from '../audit-event.js';
import { EVENT_COLUMNS, presentEvent } from './audit-presenter.js';
import type { ExportFormat } from './dto/audit-events-query.dto.js';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** The first line of a CSV export. */
export function csvHeader(): string {
  return `${EVENT_COLUMNS.join(',')}\r\n`;
}

/** One event as an RFC 4180 CSV record (CRLF). */
export function csvLine(event: AuditRow): string {
  const row = presentEvent(event);
  return `${EVENT_COLUMNS.map((column) => csvCell(row[column])).join(',')}\r\n`;
}

/** One event as a JSON line: exactly the API's shape. */
export function ndjsonLine(event: AuditRow): string {
  return `${JSON.stringify(presentEvent(event))}\n`;
}

/**
 * A CSV cell. Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the
 * start: end users and prompts are caller input) gets a leading `'`; NDJSON keeps values exact.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Writes and waits while the socket's buffer is full (backpressure), so an export of any size
 * holds one batch in memory. Resolves false when the client went away.
 */
export async function writeChunk(out: Writable, chunk: string): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return false;
  if (out.write(chunk)) return true;
  // Both listeners go when either fires (events.once would leave the loser behind, one per wait).
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
  return !out.destroyed;
}
