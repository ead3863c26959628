import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, isSealed, eventTime, type AuditEvent, type CallSummary } from './api';
import { age, show, short, time } from './format';
import type { Session } from './session';

interface CallAnswer {
  call: CallSummary | null;
  events: AuditEvent[];
}

/** One call (or one event): its summary, the ids Dify returned, and each event's place in the chain. */
export function CallView({ session, id, onClose }: { session: Session; id: string; onClose: () => void }) {
  const [answer, setAnswer] = useState<CallAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    setAnswer(null);
    setError(null);
    getJson<CallAnswer>(session, `/audit/events/${encodeURIComponent(id)}`).then(setAnswer, (e: Error) => setError(e.message));
  }, [id]);
  useEffect(() => heading.current?.focus(), [answer, error]);
  const c = answer?.call;
  return (
    <section class="panel call" aria-labelledby="call-heading" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div class="panel-head">
        <h2 id="call-heading" tabIndex={-1} ref={heading}>
          {c ? `Call ${c.call_id}` : `Event ${id}`}
        </h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!answer && !error && <p>Loading…</p>}
      {c && (
        <div class="call-grid">
          <Group
            title="Call"
            rows={[
              ['State', c.state],
              ['Forwarded to Dify', c.forwarded ? 'yes' : 'no'],
              ['Request id', c.request_id],
              ['Key', c.caller_name ? `${c.caller_name} (${c.caller_key_id})` : c.caller_key_id],
              ['App', c.app],
              ['Route', c.method ? `${c.method} ${c.route}` : c.route],
              ['End user', c.end_user],
              ['Started', time(c.started_at)],
              ['Finished', time(c.finished_at)],
            ]}
          />
          <Group
            title="Result"
            rows={[
              ['Outcome', c.outcome],
              ['Status', c.status],
              ['Dify status', c.upstream_status],
              ['Error', c.error_code],
              ['Latency', c.latency_ms === null ? null : `${c.latency_ms} ms`],
              ['Attempts', c.attempts],
            ]}
          />
          <Group
            title="Ids Dify returned"
            rows={[
              ['Conversation', c.conversation_id],
              ['Message', c.message_id],
              ['Task', c.task_id],
              ['Workflow run', c.workflow_run_id],
            ]}
          />
          <Group
            title="Usage and cost"
            rows={[
              ['Tokens', c.total_tokens],
              ['Cost', c.total_price === null ? null : `${c.total_price} ${c.currency ?? ''}`],
            ]}
          />
        </div>
      )}
      {answer && (
        <table class="chain">
          <caption>Events and their place in the chain</caption>
          <thead>
            <tr>
              <th scope="col">Seq</th>
              <th scope="col">Type</th>
              <th scope="col">Time</th>
              <th scope="col">Sealed</th>
              <th scope="col">Hash</th>
              <th scope="col">Prev hash</th>
              <th scope="col">Signed by</th>
            </tr>
          </thead>
          <tbody>
            {answer.events.map((e) => (
              <tr>
                <td>{show(e.seq)}</td>
                <td>{e.type}</td>
                <td>{time(eventTime(e))}</td>
                <td>{isSealed(e) ? 'sealed' : <span class="badge warn">unsealed for {age(unsealedFor(e))}</span>}</td>
                <td>
                  <code title={e.hash ?? ''}>{short(e.hash)}</code>
                </td>
                <td>
                  <code title={e.prev_hash ?? ''}>{short(e.prev_hash)}</code>
                </td>
                <td>{show(e.key_id)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Group({ title, rows }: { title: string; rows: [string, unknown][] }) {
  return (
    <div class="group">
      <h3>{title}</h3>
      <dl>{rows.map(([k, v]) => [<dt>{k}</dt>, <dd>{show(v)}</dd>])}</dl>
    </div>
  );
}

/** How long an event has waited to be sealed (from when it was recorded, by this browser's clock). */
function unsealedFor(e: AuditEvent): number | null {
  const at = e.received_at ? Date.parse(e.received_at) : NaN;
  return Number.isNaN(at) ? null : Math.max(0, Date.now() - at);
}
