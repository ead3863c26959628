import type { Outcome } from '../audit/audit-event.js';
import type { GatewayError } from '../common/gateway-error.js';
import type { RelayResult } from '../dify/response-relay.js';

/** Stream endings after which Dify may still be working on the task: the caller left, or we cut it. */
export const ABANDONED_STREAM = new Set(['client_closed', 'dify_timeout', 'shutting_down']);

/** The outcome of an answer Dify gave and the gateway relayed (possibly cut short). */
export function relayedOutcome(status: number, relay: RelayResult): { outcome: Outcome; errorCode: string | null } {
  const failure = relay.streamFailure ?? (relay.observation.streamErrorCode ? 'dify_error_event' : undefined);
  const errorCode = relay.streamFailure ?? relay.observation.streamErrorCode ?? null;
  if (failure === 'client_closed' || failure === 'shutting_down') return { outcome: 'cancelled', errorCode };
  if (failure === 'dify_timeout') return { outcome: 'timeout', errorCode };
  if (failure) return { outcome: 'stream_error', errorCode };
  return { outcome: status < 400 ? 'success' : 'client_error', errorCode };
}

/**
 * The outcome of a call answered with an error. A call the gateway itself refused (its checks,
 * its limits, Idempotency-Key or audit store unavailable) never reached Dify: `rejected`,
 * whatever its status.
 */
export function refusedOutcome(answer: GatewayError, reachedDify: boolean): Outcome {
  if (answer.status === 499) return 'cancelled';
  if (!reachedDify) return 'rejected';
  if (answer.status === 504) return 'timeout';
  if (answer.status >= 500) return 'upstream_error';
  return 'client_error';
}
