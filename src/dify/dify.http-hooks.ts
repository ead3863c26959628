import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { getAdapter, type AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { onSocketReady } from './connect-timeout.agent.js';
import type { DifyRoute } from './dify.routes.js';
import { DifyError } from './dify.errors.js';
import { CircuitOpenError, type AppGuard } from './dify.resilience.js';
import { readLimited } from './read-limited.js';
import { decideRetry, NOT_SENT_CODES, parseRetryAfter, retryAfterSeconds, type AttemptFailure, type RetryDecision, type RetryPolicy } from './retry-policy.js';

export type { RetryPolicy } from './retry-policy.js';

/** What DifyClient attaches to every axios request so that the hooks know the call. */
export interface DifyCallContext {
  route: DifyRoute;
  /** The app alias: the breaker and the metrics are per app. */
  app: string;
  apiKey: { reveal(): string };
  requestId: string;
  startedAt: number;
  /** Epoch ms by which Dify's answer must have begun: the call's one deadline, over all attempts. */
  deadline: number;
  /** Why the call's AbortSignal fired, when it did ('timeout' | 'client_closed' | 'shutdown'). */
  abortReason?: () => string | undefined;
  /** The current attempt: whether a connection to Dify was made (then a request may have reached it). */
  attempt?: { sent: boolean; startedAt: number };
  /** Why the last failure was (not) retried. */
  decision?: RetryDecision;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    difyCall?: DifyCallContext;
  }
}

/** What the hooks report to, and the per-app breaker they run each attempt through. */
export interface DifyHooksObserver {
  guard(app: string): AppGuard;
  attempt(app: string, route: string, result: string, seconds: number): void;
  retry(app: string, route: string, reason: string): void;
}

const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Attaches the hooks of the Dify client to its axios instance:
 * 1. credentials and request id on every attempt;
 * 2. an adapter that runs each attempt through the app's circuit breaker and records whether a
 *    connection to Dify was made (the line between "not sent" and "outcome unknown");
 * 3. bounded retry (axios-retry) with our policy (`decideRetry`) and the call's one deadline;
 * 4. the conversion of every failure into a DifyError, so that no axios error (which carries the
 *    request headers, including the key) ever travels further.
 */
export function attachDifyHooks(axios: AxiosInstance, policy: RetryPolicy, observer: DifyHooksObserver): void {
  axios.interceptors.request.use((config) => {
    const call = requireCall(config);
    config.headers.set('Authorization', `Bearer ${call.apiKey.reveal()}`);
    config.headers.set('X-Request-Id', call.requestId);
    return config;
  });

  const httpAdapter = getAdapter('http');
  axios.defaults.adapter = async (config) => {
    const call = requireCall(config);
    const attempt = { sent: false, startedAt: Date.now() };
    call.attempt = attempt;
    config.transport = trackingTransport(config.url ?? '', attempt);
    const seconds = () => (Date.now() - attempt.startedAt) / 1000;
    try {
      const response = await observer.guard(call.app).attempt(() => httpAdapter(config));
      observer.attempt(call.app, call.route.name, String(response.status), seconds());
      return response;
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        observer.attempt(call.app, call.route.name, 'circuit_open', 0);
        throw Object.assign(error, { config });
      }
      const axiosError = error as AxiosError;
      const result = axiosError.response ? String(axiosError.response.status) : axiosError.code === 'ERR_CANCELED' ? 'cancelled' : 'network';
      observer.attempt(call.app, call.route.name, result, seconds());
      throw error;
    }
  };

  axiosRetry(axios, {
    retries: policy.maxRetries,
    shouldResetTimeout: true,
    retryCondition: async (error) => {
      const call = error.config?.difyCall;
      if (!call || (error as unknown) instanceof CircuitOpenError) return false;
      const failure = await describeFailure(error, call);
      call.decision = decideRetry(failure, error.config?.['axios-retry']?.retryCount ?? 0, policy, call.deadline - Date.now());
      if (call.decision.retry) observer.retry(call.app, call.route.name, call.decision.reason);
      return call.decision.retry;
    },
    retryDelay: (_count, error) => {
      const decision = error.config?.difyCall?.decision;
      return decision?.retry ? decision.delayMs : 0;
    },
    onRetry: (_count, error) => discardBody(error.response),
  });

  axios.interceptors.response.use(undefined, async (error: unknown) => {
    throw await toDifyError(error);
  });
}

/** Attempt failures that count against an app's availability in its circuit breaker. */
export function isAvailabilityFailure(error: unknown): boolean {
  const axiosError = error as AxiosError;
  const call = axiosError?.config?.difyCall;
  if (!call) return false;
  if (axiosError.response) return axiosError.response.status >= 500;
  if (axiosError.code === 'ERR_CANCELED') return call.abortReason?.() === 'timeout';
  return true; // refused, reset, DNS, connect timeout
}

export function attemptsOf(config: InternalAxiosRequestConfig | undefined): number {
  return (config?.['axios-retry']?.retryCount ?? 0) + 1;
}

/** The node transport axios uses, watching for the moment a connection to Dify is established. */
function trackingTransport(url: string, attempt: { sent: boolean }) {
  const base = url.startsWith('https:') ? https : http;
  return {
    request(options: http.RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest {
      const req = base.request(options, callback);
      req.once('socket', (socket) => onSocketReady(socket, () => (attempt.sent = true)));
      return req;
    },
  };
}

async function describeFailure(error: AxiosError, call: DifyCallContext): Promise<AttemptFailure> {
  const failure: AttemptFailure = {
    retryClass: call.route.retry,
    sent: call.attempt?.sent ?? true,
    streamedBody: error.config?.data instanceof Readable,
    cancelled: error.code === 'ERR_CANCELED',
  };
  if (error.response) {
    failure.status = error.response.status;
    failure.sent = true;
    failure.retryAfterMs = parseRetryAfter(error.response.headers?.['retry-after']);
    if (failure.status === 429) failure.difyCode = parseDifyBody(await bufferErrorBody(error.response))?.code;
  } else {
    failure.networkCode = typeof error.code === 'string' ? error.code : undefined;
    if (failure.networkCode && NOT_SENT_CODES.has(failure.networkCode)) failure.sent = false;
  }
  return failure;
}

async function toDifyError(error: unknown): Promise<DifyError> {
  if (error instanceof DifyError) return error;
  const axiosError = error as AxiosError;
  const config = axiosError.config;
  const call = config?.difyCall;
  const sent = call?.attempt?.sent ?? true;
  const base = {
    method: call?.route.method ?? config?.method?.toUpperCase() ?? 'GET',
    path: call?.route.path ?? 'unknown',
    retryClass: call?.route.retry ?? 'unsafe',
    attempts: attemptsOf(config),
    durationMs: call ? Date.now() - call.startedAt : 0,
    notRetried: call?.decision && !call.decision.retry ? call.decision.reason : undefined,
  };
  if (error instanceof CircuitOpenError) {
    // The refused attempt never left; the attempts before it did.
    return new DifyError({ ...base, attempts: base.attempts - 1, kind: 'circuit_open', retryAfter: retryAfterSeconds(error.retryAfterMs), mayHaveReachedDify: false });
  }
  const response = axiosError.response;
  if (response) {
    const body = await bufferErrorBody(response);
    const parsed = parseDifyBody(body);
    const retryAfterMs = parseRetryAfter(response.headers?.['retry-after']);
    return new DifyError({
      ...base,
      kind: parsed ? 'http' : 'bad_response',
      status: response.status,
      difyCode: parsed?.code,
      difyMessage: parsed?.message,
      retryAfter: retryAfterMs === undefined ? undefined : retryAfterSeconds(retryAfterMs),
      mayHaveReachedDify: true,
    });
  }
  if (axiosError.code === 'ERR_CANCELED') {
    const reason = call?.abortReason?.();
    const kind = reason === 'timeout' ? 'timeout' : reason === 'shutdown' ? 'shutdown' : 'aborted';
    return new DifyError({ ...base, kind, mayHaveReachedDify: sent });
  }
  const networkCode = typeof axiosError.code === 'string' ? axiosError.code : 'ERR_NETWORK';
  return new DifyError({ ...base, kind: 'network', networkCode, mayHaveReachedDify: !NOT_SENT_CODES.has(networkCode) && sent });
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
