import { GatewayError } from '../common/gateway-error.js';
import { redactText } from '../common/redact.js';
import type { DifyError } from './dify.errors.js';

const CHECK_BEFORE_REPEATING = 'check before repeating it (for example list the conversation\'s messages)';

/**
 * Turns an upstream failure into the one answer a caller can act on (README, "Errors").
 * Errors the caller caused pass through with Dify's status and code; errors of the gateway's
 * own Dify credentials or of Dify itself get gateway codes. A request that may have reached Dify
 * and may have done its work (a POST that is not idempotent) is never called simply "failed":
 * its code says the outcome is unknown.
 */
export function mapDifyError(error: DifyError): GatewayError {
  const outcomeUnknown = error.mayHaveReachedDify && error.retryClass === 'unsafe';
  switch (error.kind) {
    case 'timeout':
      if (outcomeUnknown) {
        return new GatewayError(504, 'dify_outcome_unknown', `Dify did not answer in time after the request was sent; it may have run, so it was not repeated: ${CHECK_BEFORE_REPEATING}.`);
      }
      return new GatewayError(
        504,
        'dify_timeout',
        error.mayHaveReachedDify ? 'Dify did not answer in time.' : 'Dify could not be reached in time; nothing was sent, so the request is safe to repeat.',
      );
    case 'aborted':
      return new GatewayError(499, 'client_closed_request', 'The caller closed the connection.');
    case 'shutdown':
      if (outcomeUnknown) {
        return new GatewayError(502, 'dify_outcome_unknown', `The gateway shut down before Dify answered; the request may have run: ${CHECK_BEFORE_REPEATING}.`, { 'retry-after': '1' });
      }
      return new GatewayError(503, 'shutting_down', 'The gateway is shutting down; repeat the request.', { 'retry-after': '1' });
    case 'circuit_open':
      return new GatewayError(503, 'dify_unavailable', 'Dify is failing for this app, so the gateway is not sending it calls for now; nothing was sent. Retry after the Retry-After delay.', {
        'retry-after': error.retryAfter ?? '1',
      });
    case 'pool_full':
      return new GatewayError(
        503,
        'dify_connections_busy',
        'Every connection of the gateway to Dify is in use (DIFY_MAX_SOCKETS); nothing was sent. Retry after the Retry-After delay.',
        { 'retry-after': '1' },
      );
    case 'network':
      if (!error.mayHaveReachedDify) {
        return new GatewayError(502, 'dify_unavailable', `Dify could not be reached (${error.networkCode}); nothing was sent, so the request is safe to repeat.`);
      }
      if (outcomeUnknown) {
        return new GatewayError(502, 'dify_outcome_unknown', `The connection to Dify broke (${error.networkCode}) after the request was sent; it may have run, so it was not repeated: ${CHECK_BEFORE_REPEATING}.`);
      }
      return new GatewayError(502, 'dify_unavailable', `The connection to Dify failed (${error.networkCode}) after ${error.attempts} attempt(s).`);
    case 'bad_response':
      if (outcomeUnknown && mayHaveRun(error.status)) return outcomeUnknownAnswer(error);
      return new GatewayError(502, 'dify_bad_response', `Dify (or a proxy in front of it) answered ${error.status ?? ''} with a body that is not a Dify answer; it is not forwarded.`.replace('  ', ' '));
    case 'http':
      return mapHttpError(error);
  }
}

/** Dify's codes are identifiers (`invalid_param`, `app_unavailable`); anything else is not passed on. */
const DIFY_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

function mapHttpError(error: DifyError): GatewayError {
  const status = error.status ?? 502;
  // A 1xx or 3xx (a proxy's redirect, with maxRedirects 0) is not an answer a caller can act on.
  if (status < 400 || status > 599) return new GatewayError(502, 'dify_bad_response', `Dify (or a proxy in front of it) answered ${status}, which is not a Dify answer; it is not forwarded.`);
  const difyCode = error.difyCode !== undefined && DIFY_CODE.test(error.difyCode) ? error.difyCode : undefined;
  const message = redactText(error.difyMessage ?? '');
  if (status === 401 || (status === 403 && difyCode === 'forbidden')) {
    return new GatewayError(502, 'dify_auth', 'Dify refused the gateway\'s credentials for this app; an operator has been alerted.');
  }
  if (status === 429) {
    return new GatewayError(429, difyCode ?? 'too_many_requests', message || 'Too many requests.', { 'retry-after': error.retryAfter ?? '1' });
  }
  if (status >= 500) {
    if (error.retryClass === 'unsafe' && mayHaveRun(status)) return outcomeUnknownAnswer(error);
    const retryAfter: Record<string, string> = error.retryAfter ? { 'retry-after': error.retryAfter } : {};
    return new GatewayError(502, 'dify_unavailable', `Dify failed with ${status}${difyCode ? ` ${difyCode}` : ''} after ${error.attempts} attempt(s).`, retryAfter);
  }
  return new GatewayError(status, difyCode ?? 'bad_request', message);
}

/** A 5xx other than 503 (from Dify or a proxy in front of it) does not prove the work was not done. */
function mayHaveRun(status: number | undefined): boolean {
  return status !== undefined && status >= 500 && status !== 503;
}

function outcomeUnknownAnswer(error: DifyError): GatewayError {
  return new GatewayError(502, 'dify_outcome_unknown', `Dify answered ${error.status} after the request was sent; it may have run, so it was not repeated: ${CHECK_BEFORE_REPEATING}.`);
}
