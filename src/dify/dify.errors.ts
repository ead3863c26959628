import { redactText } from '../common/redact.js';
import type { RetryClass } from './dify.routes.js';

/**
 * Every failure of an upstream call, converted from axios before anything can log it. It holds
 * no request config, no headers and no URL with credentials: only what a caller or an operator
 * may see.
 */
export type DifyErrorKind =
  | 'http' // Dify answered with a non-2xx status
  | 'network' // no usable answer: refused, reset, DNS
  | 'timeout' // our deadline ran out
  | 'aborted' // the caller went away
  | 'shutdown' // the gateway's drain period ended first
  | 'circuit_open' // the app's circuit breaker refused the attempt; nothing was sent
  | 'pool_full' // every connection of our pool to Dify was in use; nothing was sent
  | 'bad_response'; // an answer we cannot use (HTML page, malformed JSON)

export interface DifyErrorDetails {
  kind: DifyErrorKind;
  method: string;
  /** Route template, never a concrete URL. */
  path: string;
  retryClass: RetryClass;
  attempts: number;
  durationMs: number;
  status?: number;
  difyCode?: string;
  difyMessage?: string;
  /** Node/axios error code such as ECONNRESET; no message text. */
  networkCode?: string;
  retryAfter?: string;
  /** Whether the request may have reached Dify (then a POST must not be repeated). */
  mayHaveReachedDify: boolean;
  /** Why the last failure was not retried (retry-policy reason), when a retry was considered. */
  notRetried?: string;
}

export class DifyError extends Error implements DifyErrorDetails {
  readonly kind: DifyErrorKind;
  readonly method: string;
  readonly path: string;
  readonly retryClass: RetryClass;
  readonly attempts: number;
  readonly durationMs: number;
  readonly status?: number;
  readonly difyCode?: string;
  readonly difyMessage?: string;
  readonly networkCode?: string;
  readonly retryAfter?: string;
  readonly mayHaveReachedDify: boolean;
  readonly notRetried?: string;

  constructor(details: DifyErrorDetails) {
    const summary = details.status ? `${details.status} ${details.difyCode ?? ''}`.trim() : (details.networkCode ?? details.kind);
    super(`Dify ${details.method} ${details.path} failed: ${summary}`);
    this.name = 'DifyError';
    Object.assign(this, details, {
      difyMessage: details.difyMessage === undefined ? undefined : redactText(details.difyMessage),
    });
  }
}
