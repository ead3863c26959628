/**
 * An error the gateway answers with, in Dify's own error shape `{ code, message, status }`.
 * Services throw these; the global filter turns them into HTTP responses.
 */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /** A short machine-readable cause, for audit counts (`unknown_key`, `no_key`...); default: the code. */
  reason?: string;

  because(reason: string): this {
    this.reason = reason;
    return this;
  }

  static badRequest(message: string, code = 'invalid_param'): GatewayError {
    return new GatewayError(400, code, message);
  }

  static unauthorized(message: string): GatewayError {
    return new GatewayError(401, 'unauthorized', message, { 'www-authenticate': 'Bearer realm="api"' });
  }

  static forbidden(message: string): GatewayError {
    return new GatewayError(403, 'forbidden', message);
  }

  static notFound(message = 'The requested URL was not found on the server.'): GatewayError {
    return new GatewayError(404, 'not_found', message);
  }
}

/** Errors already written to the audit log by the use case that refused (so a refusal is recorded once). */
const audited = new WeakSet<object>();

export function markAudited(error: object): void {
  audited.add(error);
}

export function isAudited(error: unknown): boolean {
  return typeof error === 'object' && error !== null && audited.has(error);
}
