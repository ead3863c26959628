/** The audit log could not be written (store down, refused, too slow, or known to be failing). */
export class AuditStoreError extends Error {
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`audit store unavailable (${reason})`, options);
    this.name = 'AuditStoreError';
  }
}

/** `err` as an `AuditStoreError` (itself when it is one, with its cause otherwise). */
export function storeErrorOf(err: unknown): AuditStoreError {
  return err instanceof AuditStoreError ? err : new AuditStoreError(reasonOf(err), { cause: err });
}

/** A short, value-free reason: the error's code or name. */
export function reasonOf(err: unknown): string {
  if (err instanceof AuditStoreError) return err.reason;
  const e = err as { code?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code) return e.code;
  return typeof e?.name === 'string' ? e.name : 'error';
}
