import { Readable } from 'node:stream';
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { CONNECT_TIMEOUT_CODE } from './connect-timeout.agent.js';
import type { DifyRoute } from './dify.routes.js';
import { DifyError } from './dify.errors.js';
import { readLimited } from './read-limited.js';

/** What DifyClient attaches to every axios request so that the hooks know the call. */
export interface DifyCallContext {
  route: DifyRoute;
  apiKey: { reveal(): string };
  requestId: string;
  startedAt: number;
  /** Why the call's AbortSignal fired, when it did ('timeout' | 'client_closed'). */
  abortReason?: () => string | undefined;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    difyCall?: DifyCallContext;
  }
}

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

const ERROR_BODY_LIMIT = 64 * 1024;
/** Failures that prove the request never left: safe to repeat even for a POST. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', CONNECT_TIMEOUT_CODE]);
const RETRYABLE_STATUSES_IDEMPOTENT = new Set([429, 502, 503, 504]);
const RETRYABLE_STATUSES_UNSAFE = new Set([429, 503]);

/**
 * Attaches the three hooks of the Dify client to its axios instance, in this order:
 * credentials and request id; bounded retry (axios-retry) with our policy; and the conversion
 * of every AxiosError into a DifyError, so that no axios error (which carries the request
 * headers, including the key) ever travels further.
 */
export function attachDifyHooks(axios: AxiosInstance, policy: RetryPolicy): void {
  axios.interceptors.request.use((config) => {
    const call = requireCall(config);
    config.headers.set('Authorization', `Bearer ${call.apiKey.reveal()}`);
    config.headers.set('X-Request-Id', call.requestId);
    return config;
  });

  axiosRetry(axios, {
    retries: policy.maxRetries,
    shouldResetTimeout: true,
    retryCondition: (error) => shouldRetry(error, policy),
    retryDelay: (retryCount, error) => backoffDelay(retryCount, error, policy),
    onRetry: (_count, error) => discardBody(error.response),
  });

  axios.interceptors.response.use(undefined, async (error: unknown) => {
    throw await toDifyError(error);
  });
}

export function attemptsOf(config: InternalAxiosRequestConfig | undefined): number {
  return (config?.['axios-retry']?.retryCount ?? 0) + 1;
}

async function shouldRetry(error: AxiosError, policy: RetryPolicy): Promise<boolean> {
  const call = error.config?.difyCall;
  if (!call || error.code === 'ERR_CANCELED') return false;
  // A streamed request body (an upload) has been consumed and cannot be sent again.
  if (error.config?.data instanceof Readable) return false;
  const idempotent = call.route.retry === 'idempotent';

  if (error.response) {
    const status = error.response.status;
    const allowed = idempotent ? RETRYABLE_STATUSES_IDEMPOTENT : RETRYABLE_STATUSES_UNSAFE;
    if (!allowed.has(status)) return false;
    const body = await bufferErrorBody(error.response);
    // `rate_limit_error` is a quota: repeating the call cannot help until it resets.
    if (status === 429 && parseDifyBody(body)?.code === 'rate_limit_error') return false;
    return retryAfterMs(error) <= policy.maxRetryAfterMs;
  }
  if (idempotent) return true;
  return NOT_SENT_CODES.has(error.code ?? '');
}

/** Full jitter, capped; a Retry-After from Dify is a floor (itself capped by the policy). */
export function backoffDelay(retryCount: number, error: AxiosError | undefined, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retryCount - 1));
  const jittered = Math.random() * ceiling;
  return Math.max(jittered, Math.min(retryAfterMs(error), policy.maxRetryAfterMs));
}

export function retryAfterMs(error: AxiosError | undefined): number {
  const header = error?.response?.headers?.['retry-after'];
  if (typeof header !== 'string' || header.trim() === '') return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}

async function toDifyError(error: unknown): Promise<DifyError> {
  if (error instanceof DifyError) return error;
  const axiosError = error as AxiosError;
  const config = axiosError.config;
  const call = config?.difyCall;
  const base = {
    method: call?.route.method ?? config?.method?.toUpperCase() ?? 'GET',
    path: call?.route.path ?? 'unknown',
    attempts: attemptsOf(config),
    durationMs: call ? Date.now() - call.startedAt : 0,
  };
  const response = axiosError.response;
  if (response) {
    const body = await bufferErrorBody(response);
    const parsed = parseDifyBody(body);
    const retryAfter = response.headers?.['retry-after'];
    return new DifyError({
      ...base,
      kind: parsed ? 'http' : 'bad_response',
      status: response.status,
      difyCode: parsed?.code,
      difyMessage: parsed?.message,
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      mayHaveReachedDify: true,
    });
  }
  if (axiosError.code === 'ERR_CANCELED') {
    const reason = call?.abortReason?.();
    return new DifyError({ ...base, kind: reason === 'timeout' ? 'timeout' : 'aborted', mayHaveReachedDify: true });
  }
  const networkCode = typeof axiosError.code === 'string' ? axiosError.code : 'ERR_NETWORK';
  return new DifyError({ ...base, kind: 'network', networkCode, mayHaveReachedDify: !NOT_SENT_CODES.has(networkCode) });
}

/** Reads an error response's body once (bounded) and keeps it as a Buffer on the response. */
async function bufferErrorBody(response: AxiosResponse): Promise<Buffer> {
  if (Buffer.isBuffer(response.data)) return response.data;
  const data: unknown = response.data;
  const body = data instanceof Readable ? await readLimited(data, ERROR_BODY_LIMIT).catch(() => Buffer.alloc(0)) : Buffer.from(typeof data === 'string' ? data : '');
  response.data = body;
  return body;
}

function discardBody(response: AxiosResponse | undefined): void {
  if (response?.data instanceof Readable) response.data.destroy();
}

export function parseDifyBody(body: Buffer): { code: string; message: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { code?: unknown }).code === 'string') {
      const { code, message } = parsed as { code: string; message?: unknown };
      return { code, message: typeof message === 'string' ? message : '' };
    }
  } catch {
    // not JSON: an HTML page from a proxy, or a truncated body
  }
  return undefined;
}

function requireCall(config: InternalAxiosRequestConfig): DifyCallContext {
  if (!config.difyCall) throw new Error('DifyClient request without a call context');
  return config.difyCall;
}
