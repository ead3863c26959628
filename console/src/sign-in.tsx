import { useState } from 'preact/hooks';
import { ApiError, getJson } from './api';
import { keySession, type Session } from './session';

/** Sign-in with an `audit:read` key: checked with one audited read before the page opens. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const session = keySession(key.trim());
    try {
      await getJson(session, '/audit/events', { limit: 1 });
      setKey('');
      onSignedIn(session);
    } catch (err) {
      session.end();
      const status = err instanceof ApiError ? err.status : 0;
      setError(status === 401 ? 'This key is not valid.' : status === 403 ? 'This key does not hold the audit:read scope.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Audit console</h1>
      <p>
        Sign in with a gateway key that holds the <code>audit:read</code> scope. The key stays in this tab only.
      </p>
      <form onSubmit={submit}>
        <label>
          API key
          <input
            type="password"
            name="key"
            autoComplete="off"
            required
            autoFocus
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            aria-describedby={error ? 'sign-in-error' : undefined}
          />
        </label>
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error && (
        <p id="sign-in-error" role="alert" class="error">
          {error}
        </p>
      )}
    </main>
  );
}
