import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { AxiosError, AxiosInstance, AxiosResponse, RawAxiosRequestHeaders } from 'axios';
import type { UpstreamTrace } from '../tracing/call-tracer.js';
import type { AttemptOutcome } from './attempt-loop.js';
import { onSocketReady, POOL_FULL_CODE } from './connect-timeout.agent.js';
import type { DifyErrorDetails } from './dify.errors.js';
import type { RetryClass } from './dify.routes.js';
import { readLimited } from './read-limited.js';
import { NOT_SENT_CODES, parseRetryAfter, retryAfterSeconds } from './retry-policy.js';

/** One upstream request, the same for every attempt of a call. */
export interface UpstreamRequest {
  method: string;
  url: string;
  /** Complete: the caller's headers plus our key, request id and encoding. */
  headers: RawAxiosRequestHeaders;
  body?: Buffer | Readable;
  retryClass: RetryClass;
  /** The call's signal: aborts the attempt in flight. */
  signal: AbortSignal;
  /** Why `signal` fired: 'timeout' | 'client_closed' | 'shutdown'. */
  abortReason: () => string | undefined;
  /** The call's trace (a CLIENT span per attempt) and the route row's template that names it. */
  trace?: { of: UpstreamTrace; template: string };
}

/** What a caller may learn of a failed attempt: the DifyError fields one attempt decides. */
export type AttemptError = Pick<DifyErrorDetails, 'kind' | 'status' | 'difyCode' | 'difyMessage' | 'networkCode' | 'retryAfter' | 'mayHaveReachedDify'>;

export type UpstreamOutcome = AttemptOutcome<AxiosResponse<Readable>, AttemptError>;

const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Makes one attempt through the @nestjs/axios instance and says what it came to. Every status
 * resolves (a non-2xx is read, bounded, and described); a failure without an answer is described
 * from its code alone, so no axios error (which carries the request headers, with the key) ever
 * leaves this function.
 */
export async function sendAttempt(axios: AxiosInstance, request: UpstreamRequest): Promise<UpstreamOutcome> {
  const span = request.trace?.of.attempt(request.method, request.trace.template);
  if (!span) return attempt(axios, request, request.headers);
  // Dify gets a `traceparent` whose parent is this attempt's span (not the caller's header as it came).
  const outcome = await attempt(axios, request, span.headers(request.headers));
  span.end({ label: outcome.label, status: outcome.ok ? outcome.value.status : outcome.error.status });
  return outcome;
}

async function attempt(axios: AxiosInstance, request: UpstreamRequest, headers: RawAxiosRequestHeaders): Promise<UpstreamOutcome> {
  const connection = { made: false };
  const streamedBody = request.body instanceof Readable;
  try {
    const response = await axios.request<Readable>({
      method: request.method,
      url: request.url,
      headers,
      data: request.body,
      signal: request.signal,
      transport: trackingTransport(request.url, connection),
      responseType: 'stream',
      validateStatus: null,
      decompress: false,
      maxRedirects: 0,
      proxy: false,
      // -1, not Infinity: any limit (even Infinity) makes axios re-wrap the answer in an async generator.
      maxContentLength: -1,
      // A streamed body (an upload being rewritten) may fail before axios listens to it; with a
      // limit, axios pipes it through stream.pipeline, which also reports a source that already
      // failed, so the request is destroyed instead of waiting for a body that never ends.
      maxBodyLength: streamedBody ? Infinity : -1,
    });
    if (response.status >= 200 && response.status < 300) return { ok: true, value: response, label: String(response.status) };
    return await describeAnswer(response, request.retryClass, streamedBody);
  } catch (error) {
    return describeNoAnswer(error as AxiosError, request, connection.made, streamedBody);
  }
}

async function describeAnswer(response: AxiosResponse<Readable>, retryClass: RetryClass, streamedBody: boolean): Promise<UpstreamOutcome> {
  const body = await readLimited(response.data, ERROR_BODY_LIMIT).catch(() => Buffer.alloc(0));
  const parsed = parseDifyBody(body);
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  const status = response.status;
  return {
    ok: false,
    label: String(status),
    countsAgainstApp: status >= 500,
    failure: { retryClass, status, difyCode: parsed?.code, sent: true, retryAfterMs, streamedBody, cancelled: false },
    error: {
      kind: parsed ? 'http' : 'bad_response',
      status,
      difyCode: parsed?.code,
      difyMessage: parsed?.message,
      retryAfter: retryAfterMs === undefined ? undefined : retryAfterSeconds(retryAfterMs),
      mayHaveReachedDify: true,
    },
  };
}

function describeNoAnswer(error: AxiosError, request: UpstreamRequest, connectionMade: boolean, streamedBody: boolean): UpstreamOutcome {
  const failure = { retryClass: request.retryClass, streamedBody };
  if (error?.code === 'ERR_CANCELED') {
    const reason = request.abortReason();
    const kind = reason === 'timeout' ? 'timeout' : reason === 'shutdown' ? 'shutdown' : 'aborted';
    return {
      ok: false,
      label: 'cancelled',
      countsAgainstApp: kind === 'timeout',
      failure: { ...failure, sent: connectionMade, cancelled: true },
      error: { kind, mayHaveReachedDify: connectionMade },
    };
  }
  if (error?.code === POOL_FULL_CODE) {
    return {
      ok: false,
      label: 'pool_full',
      countsAgainstApp: false, // our own limit, not Dify's health
      failure: { ...failure, sent: false, cancelled: false, poolFull: true },
      error: { kind: 'pool_full', networkCode: POOL_FULL_CODE, mayHaveReachedDify: false },
    };
  }
  const networkCode = typeof error?.code === 'string' ? error.code : 'ERR_NETWORK';
  const sent = connectionMade && !NOT_SENT_CODES.has(networkCode);
  return {
    ok: false,
    label: 'network',
    countsAgainstApp: true, // refused, reset, DNS, connect timeout
    failure: { ...failure, sent, networkCode, cancelled: false },
    error: { kind: 'network', networkCode, mayHaveReachedDify: sent },
  };
}

/** The node transport axios uses, watching for the moment a connection to Dify is established. */
function trackingTransport(url: string, connection: { made: boolean }) {
  const base = url.startsWith('https:') ? https : http;
  return {
    request(options: http.RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest {
      const req = base.request(options, callback);
      req.once('socket', (socket) => onSocketReady(socket, () => (connection.made = true)));
      return req;
    },
  };
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
