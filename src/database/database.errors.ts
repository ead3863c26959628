import { Prisma } from '../generated/prisma/client.js';
import { DatabaseUnavailableError, DuplicateKeyError, isUnavailableSqlState } from './driver-errors.js';

/**
 * Prisma's errors translated into the domain errors of ./driver-errors.ts (re-exported here).
 */

export { DatabaseUnavailableError, DuplicateKeyError, isUuid, translateDriverError } from './driver-errors.js';

/** Prisma codes meaning "no usable connection": P1xxx (reach, auth, timeouts, closed) and P2024 (pool timeout). */
function isUnavailableCode(code: string): boolean {
  return code.startsWith('P1') || code === 'P2024';
}

/** Driver adapter error kinds with the same meaning (raw queries report them under P2010). */
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'ConnectionClosed',
  'TlsConnectionError',
  'TooManyConnections',
  'SocketTimeout',
]);

interface AdapterCause {
  kind?: unknown;
  originalCode?: unknown;
  constraint?: unknown;
}

function adapterCause(meta: Record<string, unknown> | undefined): AdapterCause | undefined {
  return (meta?.driverAdapterError as { cause?: AdapterCause } | undefined)?.cause;
}

/** Turns Prisma's known errors into the domain errors above; anything else is returned as is. */
export function translatePrismaError(err: unknown, entity: string): unknown {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (err.code === 'P2002') return new DuplicateKeyError(entity, violatedConstraint(err.meta), { cause: err });
    const cause = adapterCause(err.meta);
    if (
      isUnavailableCode(err.code) ||
      (typeof cause?.kind === 'string' && UNAVAILABLE_KINDS.has(cause.kind)) ||
      (typeof cause?.originalCode === 'string' && isUnavailableSqlState(cause.originalCode))
    ) {
      return new DatabaseUnavailableError(err.code, { cause: err });
    }
  }
  if (err instanceof Prisma.PrismaClientInitializationError) {
    return new DatabaseUnavailableError(err.errorCode, { cause: err });
  }
  return err;
}

function violatedConstraint(meta: Record<string, unknown> | undefined): string | undefined {
  const constraint = adapterCause(meta)?.constraint as { index?: unknown; fields?: unknown } | undefined;
  if (typeof constraint?.index === 'string') return constraint.index;
  if (Array.isArray(constraint?.fields)) return constraint.fields.join(',');
  const target = meta?.target;
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) return target.join(',');
  return undefined;
}
