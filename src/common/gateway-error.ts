/**
 * An error the gateway answers with, in Dify's own error shape `{ code, message, status }`.
 * Services throw these, built by the named factories of src/common/errors/ (one answer per cause);
 * the global filter turns them into HTTP responses.
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
}

/** Errors already written to the audit log by the use case that refused (so a refusal is recorded once). */
const audited = new WeakSet<object>();

export function markAudited(error: object): void {
  audited.add(error);
}

export function isAudited(error: unknown): boolean {
  return typeof error === 'object' && error !== null && audited.has(error);
}
