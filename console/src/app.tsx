import { useState } from 'preact/hooks';
import { ApiError } from './api';
import { CallView } from './call-view';
import { EventsView } from './events-view';
import { IntegrityView } from './integrity-view';
import { restoreSession, type Session } from './session';
import { SignIn } from './sign-in';
import { UsageView } from './usage-view';

type Tab = 'events' | 'integrity' | 'usage';
const TABS: [Tab, string][] = [
  ['events', 'Events'],
  ['integrity', 'Integrity'],
  ['usage', 'Usage'],
];

export function App() {
  const [session, setSession] = useState<Session | null>(restoreSession);
  const [tab, setTab] = useState<Tab>('events');
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState<string | null>(null);
  const signOut = () => {
    session?.end();
    setSession(null);
    setError(null);
    setOpened(null);
  };
  // A key revoked (or expired) while signed in ends the session.
  const onError = (e: Error) => (e instanceof ApiError && e.status === 401 ? signOut() : setError(e.message));
  if (!session)
    return (
      <SignIn
        onSignedIn={(s) => {
          setSession(s);
          setTab('events');
        }}
      />
    );
  return (
    <div class="shell">
      <header>
        <h1>Audit console</h1>
        <nav aria-label="Sections">
          {TABS.map(([id, label]) => (
            <button
              type="button"
              class={tab === id ? 'tab active' : 'tab'}
              aria-current={tab === id ? 'page' : undefined}
              onClick={() => {
                setTab(id);
                setError(null);
              }}
            >
              {label}
            </button>
          ))}
        </nav>
        <span class="who">Signed in with {session.label}</span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      {error && (
        <p role="alert" class="error banner">
          {error}{' '}
          <button type="button" class="link" onClick={() => setError(null)}>
            dismiss
          </button>
        </p>
      )}
      <main>
        {tab === 'events' && <EventsView session={session} onError={onError} />}
        {tab === 'integrity' && (
          <>
            <IntegrityView session={session} onError={onError} onOpenEvent={setOpened} />
            {opened && <CallView session={session} id={opened} onClose={() => setOpened(null)} />}
          </>
        )}
        {tab === 'usage' && <UsageView session={session} onError={onError} />}
      </main>
    </div>
  );
}
