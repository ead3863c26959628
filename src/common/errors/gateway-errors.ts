import { entry } from './error-entry.js';

const AUTHENTICATE = { 'www-authenticate': 'Bearer realm="api"' };
type Headers = Record<string, string>;

/**
 * The gateway's own refusals, each one named answer (README, "Errors", checked by
 * errors-table.spec.ts). Throw `GatewayErrors.keyRevoked()`, never a hand-built `GatewayError`.
 */
export const GatewayErrors = {
  /** A body, query or header fails the gateway's checks. */
  invalidParam: entry(400, 'invalid_param', (message: string) => message),
  /** A body that is not JSON, or JSON the gateway will not parse (too deep, too many values). */
  badRequest: entry(400, 'bad_request', (message: string) => message),
  unauthorized: entry(401, 'unauthorized', (message: string) => ({ message, headers: AUTHENTICATE })),
  forbidden: entry(403, 'forbidden', (message: string) => message),
  notFound: entry(404, 'not_found', (message: string = 'The requested URL was not found on the server.') => message),
  fileNotFound: entry(404, 'file_not_found', () => 'The requested file was not found.'),
  endUserNotFound: entry(404, 'end_user_not_found', () => 'End user not found.'),
  methodNotAllowed: entry(405, 'method_not_allowed', (allowed: readonly string[]) => ({
    message: 'The method is not allowed for the requested URL.',
    headers: { allow: allowed.join(', ') },
  })),
  keyRevoked: entry(409, 'key_revoked', () => 'This key is revoked; create a new one.'),
  idempotencyKeyInFlight: entry(
    409,
    'idempotency_key_in_flight',
    (firstRequestId: string) =>
      `A request with this Idempotency-Key is still in progress (request ${firstRequestId}); wait for its answer instead of repeating it.`,
  ),
  idempotencyKeyReused: entry(
    409,
    'idempotency_key_reused',
    (firstRequestId: string, status: number) =>
      `This Idempotency-Key was already used by request ${firstRequestId}, answered with status ${status}; it was not sent again. ` +
      'Use a new key for a new request.',
  ),
  bodyTooLarge: entry(413, 'request_entity_too_large', (limitBytes: number) => `The JSON body is larger than ${limitBytes} bytes.`),
  unsupportedMediaType: entry(415, 'unsupported_media_type', (message: string) => message),
  rateLimited: entry(429, 'rate_limited', (rpm: number, retryAfter: string, headers: Headers) => ({
    message: `This key is limited to ${rpm} requests per minute; retry after ${retryAfter} s.`,
    headers: { ...headers, 'retry-after': retryAfter },
  })),
  tokenBudgetExceeded: entry(429, 'token_budget_exceeded', (dailyTokens: number, retryAfter: string) => ({
    message: `This key used its ${dailyTokens} tokens for today (UTC); retry after ${retryAfter} s.`,
    headers: { 'retry-after': retryAfter, 'x-token-budget-limit': String(dailyTokens), 'x-token-budget-remaining': '0' },
  })),
  tooManyStreams: entry(429, 'too_many_streams', (limit: number, retryAfter: string) => ({
    message: `This key may have ${limit} streams open at once; retry when one has finished.`,
    headers: { 'retry-after': retryAfter },
  })),
  /** Nest's own exceptions with a status the catalog has no name for, in Dify's vocabulary. */
  fromStatus: entry('dify', 'dify', (status: number, code: string, message: string) => ({ status, code, message })),
  /** The caller went away: nothing is written back (the filter destroys the socket). */
  clientClosed: entry(499, 'client_closed_request', () => 'The caller closed the connection.'),
  internal: entry(500, 'internal_error', () => 'The gateway failed to handle this request.'),
  /** The audit store is down (a write or a read failed, or the database is gone): fail closed, one answer everywhere. */
  auditUnavailable: entry(503, 'audit_unavailable', () => ({
    message: 'The gateway cannot reach its audit log, so it did nothing: no request was sent to Dify, no change made, nothing disclosed.',
    headers: { 'retry-after': '5' },
  })),
  idempotencyUnavailable: entry(503, 'idempotency_unavailable', () => ({
    message: 'The gateway cannot check this Idempotency-Key right now; nothing was sent. Retry with the same key.',
    headers: { 'retry-after': '1' },
  })),
  shuttingDown: entry(503, 'shutting_down', () => ({
    message: 'The gateway is shutting down; repeat the request, another instance will take it.',
    headers: { 'retry-after': '1' },
  })),
};
