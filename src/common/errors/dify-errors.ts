import { entry } from './error-entry.js';

const CHECK_BEFORE_REPEATING = "check before repeating it (for example list the conversation's messages)";
const MAY_HAVE_RUN = `it may have run, so it was not repeated: ${CHECK_BEFORE_REPEATING}`;
const RETRY_SOON = { 'retry-after': '1' };

/**
 * Answers about Dify itself (README, "Errors", checked by errors-table.spec.ts); which one a
 * failure gets is decided by `mapDifyError` (src/dify/dify-error.mapper.ts).
 */
export const DifyErrors = {
  /** Dify rejected the caller's input: its status and code pass through, its message masked. */
  rejected: entry('dify', 'dify', (status: number, code: string, message: string) => ({ status, code, message })),
  /** Dify is busy or a quota is spent (429, Dify's code: `too_many_requests`, `rate_limit_error`). */
  busy: entry(429, 'dify', (code: string, message: string, retryAfter: string) => ({ code, message, headers: { 'retry-after': retryAfter } })),
  /** The gateway's own bulkhead for this app is full; nothing was sent. */
  tooManyCalls: entry(429, 'too_many_requests', (limit: number) => ({
    message: `The gateway already has ${limit} calls in progress to this Dify app; nothing was sent. Retry after the Retry-After delay.`,
    headers: RETRY_SOON,
  })),
  auth: entry(502, 'dify_auth', () => "Dify refused the gateway's credentials for this app; an operator has been alerted."),
  unreachable: entry(
    502,
    'dify_unavailable',
    (networkCode: string) => `Dify could not be reached (${networkCode}); nothing was sent, so the request is safe to repeat.`,
  ),
  connectionFailed: entry(
    502,
    'dify_unavailable',
    (networkCode: string, attempts: number) => `The connection to Dify failed (${networkCode}) after ${attempts} attempt(s).`,
  ),
  failed: entry(502, 'dify_unavailable', (status: number, difyCode: string | undefined, attempts: number, retryAfter?: string) => ({
    message: `Dify failed with ${status}${difyCode ? ` ${difyCode}` : ''} after ${attempts} attempt(s).`,
    headers: retryAfter ? { 'retry-after': retryAfter } : ({} as Record<string, string>),
  })),
  /** The app's circuit breaker is open; nothing was sent. */
  circuitOpen: entry(503, 'dify_unavailable', (retryAfter: string) => ({
    message: 'Dify is failing for this app, so the gateway is not sending it calls for now; nothing was sent. Retry after the Retry-After delay.',
    headers: { 'retry-after': retryAfter },
  })),
  connectionsBusy: entry(503, 'dify_connections_busy', () => ({
    message: 'Every connection of the gateway to Dify is in use (DIFY_MAX_SOCKETS); nothing was sent. Retry after the Retry-After delay.',
    headers: RETRY_SOON,
  })),
  /** A POST that may have done its work: `what` says what happened after it was sent. */
  outcomeUnknown: entry(502, 'dify_outcome_unknown', (what: string, headers: Record<string, string> = {}) => ({
    message: `${what}; ${MAY_HAVE_RUN}.`,
    headers,
  })),
  outcomeUnknownTimeout: entry(504, 'dify_outcome_unknown', () => `Dify did not answer in time after the request was sent; ${MAY_HAVE_RUN}.`),
  timeout: entry(504, 'dify_timeout', (reachedDify: boolean) =>
    reachedDify ? 'Dify did not answer in time.' : 'Dify could not be reached in time; nothing was sent, so the request is safe to repeat.',
  ),
  notAnAnswer: entry(502, 'dify_bad_response', (status: number | undefined) =>
    status === undefined
      ? 'Dify (or a proxy in front of it) answered with a body that is not a Dify answer; it is not forwarded.'
      : `Dify (or a proxy in front of it) answered ${status} with a body that is not a Dify answer; it is not forwarded.`,
  ),
  notAnErrorAnswer: entry(
    502,
    'dify_bad_response',
    (status: number) => `Dify (or a proxy in front of it) answered ${status}, which is not a Dify answer; it is not forwarded.`,
  ),
  malformedJson: entry(502, 'dify_bad_response', () => 'Dify answered with malformed JSON.'),
  /** In-stream `error` events, after the status 200 went out (src/dify/response-relay.ts). */
  streamInterrupted: entry(502, 'dify_stream_interrupted', () => 'The stream from Dify broke before it finished.'),
  streamIdle: entry(504, 'dify_timeout', () => 'Dify stopped sending this stream for too long; it was closed by the gateway.'),
  streamDrained: entry(503, 'shutting_down', () => 'The gateway is shutting down and its drain period is over; the answer is incomplete.'),
};
