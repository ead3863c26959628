import type { GatewayError } from '../common/gateway-error.js';
import { DifyErrors } from '../common/errors/dify-errors.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';
import { redactText } from '../common/redact.js';
import type { DifyError } from './dify.errors.js';

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
      return outcomeUnknown ? DifyErrors.outcomeUnknownTimeout() : DifyErrors.timeout(error.mayHaveReachedDify);
    case 'aborted':
      return GatewayErrors.clientClosed();
    case 'shutdown':
      return outcomeUnknown ? DifyErrors.outcomeUnknown('The gateway shut down before Dify answered', { 'retry-after': '1' }) : GatewayErrors.shuttingDown();
    case 'circuit_open':
      return DifyErrors.circuitOpen(error.retryAfter ?? '1');
    case 'pool_full':
      return DifyErrors.connectionsBusy();
    case 'network':
      if (!error.mayHaveReachedDify) return DifyErrors.unreachable(String(error.networkCode));
      if (outcomeUnknown) return DifyErrors.outcomeUnknown(`The connection to Dify broke (${error.networkCode}) after the request was sent`);
      return DifyErrors.connectionFailed(String(error.networkCode), error.attempts);
    case 'bad_response':
      if (outcomeUnknown && mayHaveRun(error.status)) return outcomeUnknownAnswer(error);
      return DifyErrors.notAnAnswer(error.status);
    case 'http':
      return mapHttpError(error);
  }
}

/** Dify's codes are identifiers (`invalid_param`, `app_unavailable`); anything else is not passed on. */
const DIFY_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

function mapHttpError(error: DifyError): GatewayError {
  const status = error.status ?? 502;
  // A 1xx or 3xx (a proxy's redirect, with maxRedirects 0) is not an answer a caller can act on.
  if (status < 400 || status > 599) return DifyErrors.notAnErrorAnswer(status);
  const difyCode = error.difyCode !== undefined && DIFY_CODE.test(error.difyCode) ? error.difyCode : undefined;
  const message = redactText(error.difyMessage ?? '');
  if (status === 401 || (status === 403 && difyCode === 'forbidden')) return DifyErrors.auth();
  if (status === 429) return DifyErrors.busy(difyCode ?? 'too_many_requests', message || 'Too many requests.', error.retryAfter ?? '1');
  if (status >= 500) {
    if (error.retryClass === 'unsafe' && mayHaveRun(status)) return outcomeUnknownAnswer(error);
    return DifyErrors.failed(status, difyCode, error.attempts, error.retryAfter);
  }
  return DifyErrors.rejected(status, difyCode ?? 'bad_request', message);
}

/** A 5xx other than 503 (from Dify or a proxy in front of it) does not prove the work was not done. */
function mayHaveRun(status: number | undefined): boolean {
  return status !== undefined && status >= 500 && status !== 503;
}

function outcomeUnknownAnswer(error: DifyError): GatewayError {
  return DifyErrors.outcomeUnknown(`Dify answered ${error.status} after the request was sent`);
}
