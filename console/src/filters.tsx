import { useState } from 'preact/hooks';
import { localToIso } from './format';

/** Every filter of `GET /audit/events` and `/audit/export` (src/audit/read/dto/audit-events-query.dto.ts). */
export interface Filter {
  from?: string;
  to?: string;
  caller?: string;
  app?: string;
  route?: string;
  outcome?: string;
  status?: string;
  type?: string;
  user?: string;
  request_id?: string;
  conversation_id?: string;
  message_id?: string;
  call_id?: string;
}

export const OUTCOMES = ['success', 'client_error', 'rejected', 'upstream_error', 'timeout', 'cancelled', 'stream_error', 'unknown'];
export const EVENT_TYPES = [
  'call.started', 'call.finished', 'key.created', 'key.updated', 'key.rotated', 'key.revoked', 'config.reloaded',
  'admin.action', 'access.refused', 'auth.refused', 'audit.query', 'audit.export.started', 'audit.export.finished', 'audit.purged', 'gateway.started', 'gateway.stopped', 'gateway.recovered',
];

type Field = { name: keyof Filter; label: string; placeholder?: string };
const TEXT_FIELDS: Field[] = [
  { name: 'caller', label: 'Key id (team)', placeholder: 'uuid' },
  { name: 'app', label: 'App', placeholder: 'default' },
  { name: 'route', label: 'Route', placeholder: '/chat-messages' },
  { name: 'status', label: 'HTTP status', placeholder: '200' },
  { name: 'user', label: 'End user' },
  { name: 'request_id', label: 'Request id' },
  { name: 'conversation_id', label: 'Conversation id' },
  { name: 'message_id', label: 'Message id' },
  { name: 'call_id', label: 'Call id' },
];

interface Draft extends Filter {
  fromLocal?: string;
  toLocal?: string;
}

/** The filter form: Enter in any field applies it. Times are the browser's local time. */
export function FilterForm({ onApply }: { onApply: (f: Filter) => void }) {
  const [draft, setDraft] = useState<Draft>({});
  const set = (name: keyof Draft) => (e: Event) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value });
  const submit = (e: Event) => {
    e.preventDefault();
    const { fromLocal, toLocal, ...rest } = draft;
    const out: Filter = {};
    for (const [k, v] of Object.entries(rest)) if (v && String(v).trim()) out[k as keyof Filter] = String(v).trim();
    out.from = localToIso(fromLocal ?? '');
    out.to = localToIso(toLocal ?? '');
    onApply(out);
  };
  const clear = () => {
    setDraft({});
    onApply({});
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Filter events">
      <label>From<input type="datetime-local" step="1" name="from" value={draft.fromLocal ?? ''} onInput={set('fromLocal')} /></label>
      <label>To (exclusive)<input type="datetime-local" step="1" name="to" value={draft.toLocal ?? ''} onInput={set('toLocal')} /></label>
      <label>Type
        <select name="type" value={draft.type ?? ''} onChange={set('type')}>
          <option value="">any</option>
          {EVENT_TYPES.map((t) => <option value={t}>{t}</option>)}
        </select>
      </label>
      <label>Outcome
        <select name="outcome" value={draft.outcome ?? ''} onChange={set('outcome')}>
          <option value="">any</option>
          {OUTCOMES.map((o) => <option value={o}>{o}</option>)}
        </select>
      </label>
      {TEXT_FIELDS.map((f) => (
        <label>{f.label}<input name={f.name} value={draft[f.name] ?? ''} placeholder={f.placeholder} onInput={set(f.name)} inputMode={f.name === 'status' ? 'numeric' : undefined} /></label>
      ))}
      <div class="actions">
        <button type="submit">Apply filter</button>
        <button type="button" class="secondary" onClick={clear}>Clear</button>
      </div>
    </form>
  );
}
