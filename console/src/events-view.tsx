import { useEffect, useState } from 'preact/hooks';
import { getJson, isSealed, eventTime, OWN_REQUEST_PREFIX, type AuditEvent, type EventPage } from './api';
import { CallView } from './call-view';
import { downloadExport } from './export';
import { FilterForm, type Filter } from './filters';
import { show, time } from './format';
import type { Session } from './session';

const PAGE_SIZE = 50;
const POLL_MS = 5_000;

/**
 * The events table: newest first, keyset pages (the cursors of the pages seen are kept, so
 * "Newer" goes back), a poll for events newer than the first page's top, export of the filter.
 */
export function EventsView({ session, onError }: { session: Session; onError: (e: Error) => void }) {
  const [filter, setFilter] = useState<Filter>({});
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<EventPage | null>(null);
  const [fresh, setFresh] = useState(0);
  /** The call (or event) shown, and the row it was opened from (focus goes back there). */
  const [open, setOpen] = useState<{ id: string; from: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];

  const load = () =>
    getJson<EventPage>(session, '/audit/events', { ...filter, limit: PAGE_SIZE, cursor }).then((p) => {
      setPage(p);
      if (!cursor) setFresh(0);
    }, onError);
  useEffect(() => void load(), [filter, cursor]);

  // Only the first page can go stale from the top. The page's own reads are audited too: they do not count as news.
  useEffect(() => {
    const top = page?.data[0]?.id;
    if (cursor || !page) return;
    const timer = setInterval(() => {
      // Every poll is an audited read: a tab nobody looks at does not poll.
      if (document.visibilityState === 'hidden') return;
      getJson<EventPage>(session, '/audit/events', { ...filter, limit: PAGE_SIZE }).then(
        (p) => {
          const at = top ? p.data.findIndex((e) => e.id === top) : p.data.length;
          const newer = (at === -1 ? p.data : p.data.slice(0, at)).filter((e) => !e.request_id?.startsWith(OWN_REQUEST_PREFIX));
          setFresh(newer.length);
        },
        () => undefined,
      );
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [page, filter, cursor]);

  const apply = (f: Filter) => {
    setFilter(f);
    setCursors([undefined]);
    setOpen(null);
  };
  const close = (fromEventId: string) => {
    setOpen(null);
    // After the view is gone: keyboard users go back to the row they opened it from.
    setTimeout(() => document.querySelector<HTMLElement>(`[data-event="${CSS.escape(fromEventId)}"]`)?.focus(), 0);
  };
  const exportAs = (format: 'csv' | 'ndjson') => {
    setNote(`Exporting ${format.toUpperCase()}…`);
    downloadExport(session, filter, format).then(
      (name) => setNote(`Saved ${name}.`),
      (e: Error) => {
        setNote(null);
        onError(e);
      },
    );
  };

  return (
    <div class="events">
      <FilterForm onApply={apply} />
      <div class="toolbar">
        <span class="live" aria-live="polite">
          {fresh > 0 && (
            <button type="button" class="fresh" onClick={() => (cursor ? setCursors([undefined]) : void load())}>
              {fresh >= PAGE_SIZE ? `${PAGE_SIZE}+` : fresh} new {fresh === 1 ? 'event' : 'events'}: show
            </button>
          )}
        </span>
        <button type="button" onClick={() => exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => exportAs('ndjson')}>
          Export NDJSON
        </button>
        <span class="note" role="status">
          {note}
        </span>
      </div>
      {open && <CallView session={session} id={open.id} onClose={() => close(open.from)} />}
      <table class="event-table">
        <caption>Audit events, newest first{page ? ` (${page.data.length} on this page)` : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Type</th>
            <th scope="col">Key</th>
            <th scope="col">App</th>
            <th scope="col">Route</th>
            <th scope="col">End user</th>
            <th scope="col">Status</th>
            <th scope="col">Outcome</th>
            <th scope="col">Tokens</th>
            <th scope="col">
              <span class="sr">Details</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page?.data.map((e) => (
            <Row e={e} onOpen={() => setOpen({ id: e.call_id ?? e.id, from: e.id })} />
          ))}
        </tbody>
      </table>
      {page && page.data.length === 0 && <p class="empty">No events match this filter.</p>}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!page?.next_cursor} onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}>
          Older
        </button>
      </nav>
    </div>
  );
}

function Row({ e, onOpen }: { e: AuditEvent; onOpen: () => void }) {
  return (
    <tr class={e.outcome && e.outcome !== 'success' ? 'bad' : undefined}>
      <td>
        {isSealed(e) ? (
          show(e.seq)
        ) : (
          <span class="badge warn" title={`recorded at ${time(e.received_at)}, not sealed into the chain yet`}>
            unsealed
          </span>
        )}
      </td>
      <td class="nowrap">{time(eventTime(e))}</td>
      <td>{e.type}</td>
      <td>{show(e.caller_name)}</td>
      <td>{show(e.app)}</td>
      <td>{e.method ? `${e.method} ${e.route}` : show(e.route)}</td>
      <td>{show(e.end_user)}</td>
      <td>{show(e.status)}</td>
      <td>{show(e.outcome)}</td>
      <td>{show(e.total_tokens)}</td>
      <td>
        <button type="button" class="link" data-event={e.id} onClick={onOpen} aria-label={`Open ${e.call_id ? 'call' : 'event'} ${e.call_id ?? e.id}`}>
          {e.call_id ? 'Open call' : 'Open'}
        </button>
      </td>
    </tr>
  );
}
