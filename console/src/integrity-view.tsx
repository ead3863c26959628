import { useState } from 'preact/hooks';
import { getJson, type VerifyReport } from './api';
import { age, show, time } from './format';
import type { Session } from './session';

/** `GET /audit/verify`: the chain checked (all, or a seq range), the newest checkpoint, the events not sealed yet. */
export function IntegrityView({ session, onOpenEvent, onError }: { session: Session; onOpenEvent: (id: string) => void; onError: (e: Error) => void }) {
  const [fromSeq, setFromSeq] = useState('');
  const [toSeq, setToSeq] = useState('');
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [busy, setBusy] = useState(false);
  const verify = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    getJson<VerifyReport>(session, '/audit/verify', { from_seq: fromSeq || undefined, to_seq: toSeq || undefined })
      .then(setReport, onError)
      .finally(() => setBusy(false));
  };
  const cp = report?.latest_checkpoint;
  return (
    <section class="panel" aria-labelledby="integrity-heading">
      <h2 id="integrity-heading">Integrity</h2>
      <form class="inline" onSubmit={verify}>
        <label>
          From seq
          <input name="from_seq" inputMode="numeric" value={fromSeq} onInput={(e) => setFromSeq(e.currentTarget.value)} placeholder="start" />
        </label>
        <label>
          Up to seq
          <input name="to_seq" inputMode="numeric" value={toSeq} onInput={(e) => setToSeq(e.currentTarget.value)} placeholder="end of log" />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Verifying…' : 'Verify chain'}
        </button>
      </form>
      {report && (
        <div class="report" aria-live="polite">
          <p class={report.ok ? 'verdict ok' : 'verdict fail'} role={report.ok ? 'status' : 'alert'}>
            {report.ok
              ? `Chain intact: ${report.checked} events verified${report.last_seq !== null ? ` up to seq ${report.last_seq}` : ''}`
              : `Verification failed: ${report.problem?.kind ?? 'problem'}${report.problem?.seq != null ? ` at seq ${report.problem.seq}` : ''}`}
          </p>
          {report.problem && (
            <div class="problem">
              <p>
                First bad event: seq {show(report.problem.seq)}{' '}
                {report.problem.event_id && (
                  <button type="button" class="link" onClick={() => onOpenEvent(report.problem!.event_id!)}>
                    open event {report.problem.event_id}
                  </button>
                )}
              </p>
              <p class="message">{report.problem.message}</p>
            </div>
          )}
          <dl class="facts">
            <dt>{report.ok ? 'Checked' : 'Intact before it'}</dt>
            <dd>
              {report.checked} events, seq {show(report.first_seq)}–{show(report.last_seq)}
            </dd>
            <dt>Walk started from</dt>
            <dd>{report.started_from}</dd>
            <dt>Signatures</dt>
            <dd>{report.signed ? `checked (${report.checkpoints_checked} checkpoints)` : 'not checked: no signing key configured'}</dd>
            <dt>Newest checkpoint</dt>
            <dd>{cp ? `seq ${cp.seq}, ${cp.kind}, ${time(cp.created_at)}, ${cp.signed ? `signed by key ${show(cp.key_id)}` : 'unsigned'}` : 'none'}</dd>
            <dt>Unsealed events</dt>
            <dd>{unsealedText(report.unsealed)}</dd>
          </dl>
          {report.warnings.length > 0 && (
            <ul class="warnings">
              {report.warnings.map((w) => (
                <li>{w}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

function unsealedText(un: VerifyReport['unsealed']): string {
  if (un === undefined) return 'not reported by this gateway';
  if (un === null) return 'not reported: the range stops before the end of the log';
  if (un.count === 0) return 'none: every recorded event is sealed into the chain';
  return `${un.count} recorded, not sealed yet; oldest ${age(un.oldest_age_ms)} old (bound ${age(un.max_lag_ms)})`;
}
