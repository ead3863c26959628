import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpService } from '@nestjs/axios';
import type { ConfigType } from '@nestjs/config';
import type { Readable } from 'node:stream';
import { difyConfig } from '../config/config-namespaces.js';
import { DifyTargets } from '../config/dify-targets.js';
import type { Secret } from '../config/secret.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { DifyError } from './dify.errors.js';
import type { AxiosResponse } from 'axios';
import { runAttempts, type AttemptLoopResult } from './attempt-loop.js';
import { BulkheadFullError, DifyResilience } from './dify.resilience.js';
import { retryAfterSeconds } from './retry-policy.js';
import { sendAttempt, type AttemptError, type UpstreamRequest } from './upstream-attempt.js';
import { DIFY_ROUTES, type DifyRoute } from './dify.routes.js';
import type { UpstreamTrace } from '../tracing/call-tracer.js';
import { DifyErrors } from '../common/errors/dify-errors.js';
import { flattenHeaders, watchIdle } from './upstream-body.js';

const routeNamed = (name: string) => DIFY_ROUTES.find((r) => r.name === name) as DifyRoute;
const PROBE_ROUTE = routeNamed('app.info');
/** The stop endpoint of each streaming generation route (contract §4.1). */
const STOP_ROUTES: Record<string, { route: DifyRoute; path: (taskId: string) => string }> = {
  'chat.create': { route: routeNamed('chat.stop'), path: (id) => `/chat-messages/${id}/stop` },
  'completion.create': { route: routeNamed('completion.stop'), path: (id) => `/completion-messages/${id}/stop` },
  'workflow.run': { route: routeNamed('workflow.stop'), path: (id) => `/workflows/tasks/${id}/stop` },
  'workflow.run_version': { route: routeNamed('workflow.stop'), path: (id) => `/workflows/tasks/${id}/stop` },
};
const STOP_TIMEOUT_MS = 5_000;
const TASK_ID = /^[A-Za-z0-9-]{1,64}$/;

export interface DifyApp {
  alias: string;
  baseUrl: string;
  apiKey: Secret;
}

export interface DifyCall {
  app: DifyApp;
  route: DifyRoute;
  /** Path under the app's base URL, rebuilt from the route template. */
  upstreamPath: string;
  /** The caller's query string, without `?`, passed through verbatim. */
  rawQuery: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  requestId: string;
  /** Fires when the caller goes away. */
  signal: AbortSignal;
  /** Fires when the gateway's drain period is over. */
  shutdownSignal?: AbortSignal;
  /** Probes and stop calls do not take a bulkhead slot (they are short and free capacity). */
  bypassBulkhead?: boolean;
  /** The call's trace: each attempt gets a span, and Dify a `traceparent` that names it. */
  trace?: UpstreamTrace;
}

export interface DifyCallResponse {
  status: number;
  headers: Record<string, string>;
  /** The upstream body, watched for idle time and the call's maximum duration. */
  body: Readable;
  attempts: number;
  /** Why the upstream call was cut, when it was: 'timeout' or 'client_closed'. */
  abortReason(): string | undefined;
}

/**
 * The only code that knows Dify's URLs and keys. It sends one route row's request to the bound
 * app through the @nestjs/axios instance, its attempts made by the one attempt loop
 * (attempt-loop.ts: breaker, retry policy, deadline).
 */
@Injectable()
export class DifyClient {
  private readonly logger = new Logger(DifyClient.name);
  /** Base URLs parsed once (there are as many as apps), not on every call. */
  private readonly parsedBases = new Map<string, URL>();

  constructor(
    private readonly http: HttpService,
    @Inject(difyConfig.KEY) private readonly cfg: ConfigType<typeof difyConfig>,
    private readonly resilience: DifyResilience,
    private readonly metrics: MetricsService,
    private readonly targets: DifyTargets,
  ) {}

  /** The app as configured now: a reloaded key file applies to the next call (see DifyTargets). */
  app(alias: string): DifyApp | undefined {
    return this.targets.app(alias);
  }

  appAliases(): string[] {
    return this.targets.aliases();
  }

  /** The knowledge (dataset) API target, when a dataset key is configured. */
  datasetTarget(): DifyApp | undefined {
    return this.targets.datasetTarget();
  }

  /**
   * Sends one call: takes a slot of the app's bulkhead (refused at once when full), then runs
   * the attempt loop, within one deadline for the answer to begin (DIFY_FIRST_BYTE_TIMEOUT_MS)
   * and one for the whole call (DIFY_MAX_CALL_MS). The slot is held until the answer's body ends.
   */
  async send(call: DifyCall): Promise<DifyCallResponse> {
    const { timeouts } = this.cfg;
    const release = call.bypassBulkhead ? () => undefined : await this.takeSlot(call);
    const controller = new AbortController();
    let reason: string | undefined;
    const abort = (why: string) => {
      reason ??= why;
      controller.abort();
    };
    const onCallerGone = () => abort('client_closed');
    const onShutdown = () => abort('shutdown');
    call.signal.addEventListener('abort', onCallerGone, { once: true });
    call.shutdownSignal?.addEventListener('abort', onShutdown, { once: true });
    if (call.signal.aborted) onCallerGone();
    if (call.shutdownSignal?.aborted) onShutdown();
    const startedAt = Date.now();
    const maxCall = setTimeout(() => abort('timeout'), timeouts.maxCallMs);
    const stopTimers = () => {
      clearTimeout(maxCall);
      call.signal.removeEventListener('abort', onCallerGone);
      call.shutdownSignal?.removeEventListener('abort', onShutdown);
      release();
    };

    const { route, app } = call;
    let result: AttemptLoopResult<AxiosResponse<Readable>, AttemptError>;
    try {
      const request: UpstreamRequest = {
        method: route.method,
        url: this.upstreamUrl(app, call.upstreamPath, call.rawQuery),
        headers: {
          ...call.headers,
          Authorization: `Bearer ${app.apiKey.reveal()}`,
          'X-Request-Id': call.requestId,
          'Accept-Encoding': 'identity',
          'User-Agent': 'dify-gateway',
        },
        body: call.body,
        retryClass: route.retry,
        signal: controller.signal,
        abortReason: () => reason,
        ...(call.trace ? { trace: { of: call.trace, template: route.path } } : {}),
      };
      result = await runAttempts(() => sendAttempt(this.http.axiosRef, request), {
        policy: this.cfg.retry,
        breaker: this.resilience.guard(app.alias),
        deadlineMs: timeouts.firstByteMs,
        onDeadline: () => abort('timeout'),
        signal: controller.signal,
        onAttempt: (label, seconds) => this.metrics.upstreamAttempt(app.alias, route.name, label, seconds),
        onRetry: (why) => {
          this.metrics.retry(app.alias, route.name, why);
          this.logger.log({ event: 'dify_retry', app: app.alias, route: route.name, reason: why });
        },
      });
    } catch (error) {
      stopTimers();
      throw error;
    }
    if (!result.ok) {
      stopTimers();
      if (result.end === 'circuit_open') this.metrics.reject(route.name, app.alias, 'breaker_open');
      throw this.failure(call, result, startedAt, reason);
    }
    const response = result.value;
    const body = watchIdle(response.data, timeouts.streamIdleMs, () => abort('timeout'), stopTimers);
    return {
      status: response.status,
      headers: flattenHeaders(response.headers as Record<string, unknown>),
      body,
      attempts: result.attempts,
      abortReason: () => reason,
    };
  }

  /** The one DifyError a failed call ends with (built once, on the failure path only). */
  private failure(
    call: DifyCall,
    result: Exclude<AttemptLoopResult<unknown, AttemptError>, { ok: true }>,
    startedAt: number,
    reason: string | undefined,
  ): DifyError {
    const base = {
      method: call.route.method,
      path: call.route.path,
      retryClass: call.route.retry,
      attempts: result.attempts,
      durationMs: Date.now() - startedAt,
    };
    switch (result.end) {
      case 'failed':
        return new DifyError({ ...base, ...result.error, notRetried: result.decision.reason });
      case 'circuit_open':
        return new DifyError({ ...base, kind: 'circuit_open', retryAfter: retryAfterSeconds(result.retryAfterMs), mayHaveReachedDify: false });
      case 'cancelled': {
        // Cut while waiting to repeat: every attempt so far was one that may be repeated.
        const kind = reason === 'timeout' ? 'timeout' : reason === 'shutdown' ? 'shutdown' : 'aborted';
        return new DifyError({ ...base, kind, mayHaveReachedDify: false, notRetried: 'cancelled' });
      }
    }
  }

  private async takeSlot(call: DifyCall): Promise<() => void> {
    try {
      return await this.resilience.guard(call.app.alias).acquire();
    } catch (error) {
      if (!(error instanceof BulkheadFullError)) throw error;
      this.metrics.reject(call.route.name, call.app.alias, 'bulkhead_full');
      throw DifyErrors.tooManyCalls(error.limit);
    }
  }

  /**
   * Asks Dify to stop a streaming task whose caller went away, so that it stops spending tokens:
   * the stop endpoint matching `streamRoute`, with the task id seen in the stream and the same
   * `user` the stream was started with. Never throws; returns what happened.
   */
  async stopTask(
    app: DifyApp,
    streamRoute: DifyRoute,
    taskId: string | undefined,
    user: string | undefined,
    requestId: string,
  ): Promise<'sent' | 'failed' | 'no_task_id'> {
    const stop = STOP_ROUTES[streamRoute.name];
    if (!stop || !taskId || !TASK_ID.test(taskId) || typeof user !== 'string') return 'no_task_id';
    try {
      const response = await this.send({
        app,
        route: stop.route,
        upstreamPath: stop.path(taskId),
        rawQuery: '',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ user })),
        requestId,
        signal: AbortSignal.timeout(STOP_TIMEOUT_MS),
        bypassBulkhead: true,
      });
      response.body.resume();
      return response.status < 300 ? 'sent' : 'failed';
    } catch {
      return 'failed';
    }
  }

  /** A cheap authenticated call (`GET /info`) to see that the app answers and accepts our key. */
  async probe(app: DifyApp, timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await this.send({
      app,
      route: PROBE_ROUTE,
      upstreamPath: PROBE_ROUTE.path,
      rawQuery: '',
      headers: {},
      requestId: 'readiness-probe',
      signal,
      bypassBulkhead: true,
    });
    response.body.resume(); // drain and release the connection
  }

  /** Joins base URL and path and proves the result stays under the base URL. */
  private upstreamUrl(app: DifyApp, path: string, rawQuery: string): string {
    let base = this.parsedBases.get(app.baseUrl);
    if (!base) this.parsedBases.set(app.baseUrl, (base = new URL(app.baseUrl)));
    const url = new URL(app.baseUrl + path);
    if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
      throw new Error('refusing to build an upstream URL outside the Dify base URL');
    }
    return rawQuery ? `${url.href}?${rawQuery}` : url.href;
  }
}
