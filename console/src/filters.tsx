import { useState } from 'preact/hooks';
import { localToIso } from './format';
import { EVENT_TYPES, OUTCOMES, type Filter } from './filter-params';

export type { Filter } from './filter-params';

type TextParam = Exclude<keyof Filter, 'from' | 'to' | 'type' | 'outcome'>;
/** A record, not a list: a filter added to FILTER_PARAMS does not compile until it has a field here. */
const TEXT_FIELDS: Record<TextParam, { label: string; placeholder?: string }> = {
  caller: { label: 'Key id (team)', placeholder: 'uuid' },
  app: { label: 'App', placeholder: 'default' },
  route: { label: 'Route', placeholder: '/chat-messages' },
  status: { label: 'HTTP status', placeholder: '200' },
  user: { label: 'End user' },
  request_id: { label: 'Request id' },
  conversation_id: { label: 'Conversation id' },
  message_id: { label: 'Message id' },
  call_id: { label: 'Call id' },
};

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
      <label>
        From
        <input type="datetime-local" step="1" name="from" value={draft.fromLocal ?? ''} onInput={set('fromLocal')} />
      </label>
      <label>
        To (exclusive)
        <input type="datetime-local" step="1" name="to" value={draft.toLocal ?? ''} onInput={set('toLocal')} />
      </label>
      <label>
        Type
        <select name="type" value={draft.type ?? ''} onChange={set('type')}>
          <option value="">any</option>
          {EVENT_TYPES.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Outcome
        <select name="outcome" value={draft.outcome ?? ''} onChange={set('outcome')}>
          <option value="">any</option>
          {OUTCOMES.map((o) => (
            <option value={o}>{o}</option>
          ))}
        </select>
      </label>
      {(Object.entries(TEXT_FIELDS) as [TextParam, { label: string; placeholder?: string }][]).map(([name, f]) => (
        <label>
          {f.label}
          <input name={name} value={draft[name] ?? ''} placeholder={f.placeholder} onInput={set(name)} inputMode={name === 'status' ? 'numeric' : undefined} />
        </label>
      ))}
      <div class="actions">
        <button type="submit">Apply filter</button>
        <button type="button" class="secondary" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
