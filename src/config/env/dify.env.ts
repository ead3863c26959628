import { INSECURE_HTTP_REASON } from './checks.js';
import { bool, difyBaseUrl, difyKey, int, optional, text, withDefault, type ParsedEnv } from './parsers.js';

/** Dify's stream sends a `ping` event every 10 s; a shorter idle timeout would cut healthy streams. */
export const MIN_STREAM_IDLE_TIMEOUT_MS = 10_001;
export const DEFAULT_DIFY_BASE_URL = 'https://api.dify.ai/v1';

/** Plain http only with DIFY_ALLOW_INSECURE_HTTP (skipped while that flag is itself invalid). */
function httpsUnlessAllowed(url: string | undefined, env: ParsedEnv): string | undefined {
  return url?.startsWith('http:') && env.DIFY_ALLOW_INSECURE_HTTP === false ? INSECURE_HTTP_REASON : undefined;
}

/** Runs only when both hold valid numbers. */
const notAbove = (other: string) => (value: number | undefined, env: ParsedEnv) =>
  value !== undefined && typeof env[other] === 'number' && value > env[other] ? `must not exceed ${other}` : undefined;
const notBelow = (other: string) => (value: number | undefined, env: ParsedEnv) =>
  value !== undefined && typeof env[other] === 'number' && value < env[other] ? `must be at least ${other}` : undefined;

/** Dify: where it is, its keys, and how the gateway calls it (timeouts, retries, bulkhead, breaker, readiness). */
export const DIFY_ENV = {
  DIFY_BASE_URL: withDefault(difyBaseUrl(), DEFAULT_DIFY_BASE_URL, 'Dify Service API base URL (https unless DIFY_ALLOW_INSECURE_HTTP).', {
    check: httpsUnlessAllowed,
  }),
  DIFY_API_KEY: optional(difyKey(), 'The Dify app key, app alias "default" (or DIFY_API_KEY_FILE, or DIFY_APPS_FILE).', {
    secretFile: true,
    check: (key, env) =>
      key === undefined && env.DIFY_APPS_FILE === undefined ? 'required: set DIFY_API_KEY, DIFY_API_KEY_FILE or DIFY_APPS_FILE' : undefined,
  }),
  DIFY_APPS_FILE: optional(text(), 'A JSON file of several Dify apps (alias -> base URL and key).'),
  DIFY_DATASET_API_KEY: optional(difyKey(), 'The knowledge (dataset) key, for the /v1/datasets routes.', { secretFile: true }),
  DIFY_DATASET_BASE_URL: optional(difyBaseUrl(), 'Base URL of the knowledge API; default DIFY_BASE_URL.', { check: httpsUnlessAllowed }),
  DIFY_KEYS_RELOAD_MS: withDefault(int(0, 3_600_000), '5000', 'How often mounted key files and the apps file are re-read; 0: never.'),
  DIFY_ALLOW_INSECURE_HTTP: withDefault(bool(), 'false', 'Allow a plain http:// Dify (tests, a sidecar).'),
  DIFY_CONNECT_TIMEOUT_MS: withDefault(int(1, 600_000), '5000', 'TCP/TLS connect timeout per attempt.'),
  DIFY_FIRST_BYTE_TIMEOUT_MS: withDefault(int(1, 3_600_000), '120000', 'How long an attempt waits for the answer to begin.', {
    check: notAbove('DIFY_MAX_CALL_MS'),
  }),
  DIFY_STREAM_IDLE_TIMEOUT_MS: withDefault(int(MIN_STREAM_IDLE_TIMEOUT_MS, 3_600_000), '60000', 'A stream silent this long is cut (Dify pings every 10 s).'),
  DIFY_MAX_CALL_MS: withDefault(int(1, 86_400_000), '1200000', 'The longest a call may last, retries and stream included.'),
  DIFY_MAX_RETRIES: withDefault(int(0, 10), '2', 'Retries of a call that is safe to repeat.'),
  DIFY_RETRY_BASE_DELAY_MS: withDefault(int(0, 60_000), '200', 'First backoff delay (with jitter).', { check: notAbove('DIFY_RETRY_MAX_DELAY_MS') }),
  DIFY_RETRY_MAX_DELAY_MS: withDefault(int(0, 600_000), '5000', 'Longest backoff delay.'),
  DIFY_RETRY_AFTER_MAX_MS: withDefault(int(0, 3_600_000), '10000', 'Longest Dify Retry-After honoured; longer ones are answered at once.'),
  DIFY_MAX_CONCURRENT_CALLS: withDefault(int(1, 100_000), '100', 'Calls in progress per Dify app (the bulkhead).'),
  DIFY_MAX_SOCKETS: optional(int(1, 1_000_000), 'Sockets per Dify origin; unset: derived from the bulkhead (gateway-config.ts).', {
    check: notBelow('DIFY_MAX_CONCURRENT_CALLS'),
  }),
  DIFY_BREAKER_FAILURE_PERCENT: withDefault(int(0, 99), '50', 'Failed attempts (percent) over the window that open the breaker.'),
  DIFY_BREAKER_WINDOW_MS: withDefault(int(1_000, 3_600_000), '30000', "The breaker's counting window."),
  DIFY_BREAKER_MIN_CALLS: withDefault(int(1, 100_000), '10', 'Attempts in the window before the breaker may open.'),
  DIFY_BREAKER_OPEN_MS: withDefault(int(100, 3_600_000), '15000', 'How long an open breaker refuses before one trial call.'),
  DIFY_READY_CACHE_MS: withDefault(int(0, 3_600_000), '15000', "How long /ready reuses Dify's last probe."),
  DIFY_READY_FAILURES: withDefault(int(1, 100), '3', 'Failed probes in a row before /ready reports Dify down.'),
  DIFY_READY_REQUIRED: withDefault(bool(), 'true', 'Whether /ready fails while Dify is down.'),
};
