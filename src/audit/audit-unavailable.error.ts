import { GatewayError } from '../common/gateway-error.js';

/**
 * 503 `audit_unavailable`, in Dify's error shape: the audit log could not be written, so the
 * gateway did nothing (fail closed). Callers may retry after `Retry-After` seconds.
 */
export class AuditUnavailableError extends GatewayError {
  constructor(message = 'The gateway cannot write its audit log; no request was sent to Dify.') {
    super(503, 'audit_unavailable', message, { 'retry-after': '5' });
    this.name = 'AuditUnavailableError';
  }
}
