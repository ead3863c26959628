/**
 * Who is signed in, and how that shows on a request. Today a session comes from an `audit:read`
 * key typed in; a later OIDC sign-in gives another implementation of the same shape (a bearer
 * token from the identity provider), and nothing else in the page changes.
 */
export interface Session {
  /** How the page names the session (never the secret itself). */
  readonly label: string;
  /** The headers that authenticate a request to the audit API. */
  headers(): Record<string, string>;
  /** Forgets the credential everywhere the page kept it. */
  end(): void;
}

const STORAGE_KEY = 'dify-gateway.console.session';

/** A key session: the key lives in this tab's sessionStorage (gone when the tab closes), never in a URL. */
export function keySession(key: string): Session {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: 'key', key }));
  return {
    label: `key …${key.slice(-4)}`,
    headers: () => ({ authorization: `Bearer ${key}` }),
    end: () => sessionStorage.removeItem(STORAGE_KEY),
  };
}

/** The session this tab already holds, if any (a reload keeps one signed in; a new tab does not). */
export function restoreSession(): Session | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as { kind?: string; key?: unknown } | null;
    return saved?.kind === 'key' && typeof saved.key === 'string' ? keySession(saved.key) : null;
  } catch {
    return null;
  }
}
