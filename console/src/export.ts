import { call } from './api';
import type { Filter } from './filters';
import type { Session } from './session';

/**
 * Downloads the filter's export as the API streams it: fetched with the session's header (a
 * plain link could not carry it, and the key must not go in a URL), then saved from a Blob.
 */
export async function downloadExport(session: Session, filter: Filter, format: 'csv' | 'ndjson'): Promise<string> {
  const res = await call(session, '/audit/export', { ...filter, format });
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `audit.${format}`;
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
