import { GatewayError } from '../common/gateway-error.js';
import { redactText } from '../common/redact.js';
import type { DifyError } from './dify.errors.js';

/**
 * Turns an upstream failure into the one answer a caller can act on (README, "Errors").
 * Errors the caller caused pass through with Dify's status and code; errors of the gateway's
 * own Dify credentials or of Dify itself get gateway codes.
 */
export function mapDifyError(error: DifyError): GatewayError {
  switch (error.kind) {
    case 'timeout':
      return new GatewayError(
        504,
        'dify_timeout',
        error.mayHaveReachedDify && error.method !== 'GET'
          ? 'Dify did not answer in time; the outcome of this request is unknown, so it was not repeated.'
          : 'Dify did not answer in time.',
      );
    case 'aborted':
      return new GatewayError(499, 'client_closed_request', 'The caller closed the connection.');
    case 'network':
      return new GatewayError(
        502,
        error.mayHaveReachedDify ? 'dify_outcome_unknown' : 'dify_unavailable',
        error.mayHaveReachedDify
          ? `The connection to Dify failed (${error.networkCode}) after the request was sent; its outcome is unknown, so it was not repeated.`
          : `Dify could not be reached (${error.networkCode}).`,
      );
    case 'bad_response':
      return new GatewayError(502, 'dify_bad_response', `Dify answered ${error.status ?? ''} with a body that is not a Dify error.`.replace('  ', ' '));
    case 'http':
      return mapHttpError(error);
  }
}

function mapHttpError(error: DifyError): GatewayError {
  const status = error.status ?? 502;
  const message = redactText(error.difyMessage ?? '');
  if (status === 401 || (status === 403 && error.difyCode === 'forbidden')) {
    return new GatewayError(502, 'dify_auth', 'Dify refused the gateway\'s credentials for this app; an operator has been alerted.');
  }
  if (status === 429) {
    const headers: Record<string, string> = { 'retry-after': error.retryAfter ?? '1' };
    return new GatewayError(429, error.difyCode ?? 'too_many_requests', message || 'Too many requests.', headers);
  }
  if (status >= 500) {
    return new GatewayError(502, 'dify_unavailable', `Dify failed with ${status}${error.difyCode ? ` ${error.difyCode}` : ''}.`);
  }
  return new GatewayError(status, error.difyCode ?? 'bad_request', message);
}
