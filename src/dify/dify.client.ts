import { Inject, Injectable } from '@nestjs/common';
import { HttpService } from '@nestjs/axios';
import type { ConfigType } from '@nestjs/config';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { difyConfig } from '../config/dify.config.js';
import { DifyTargets } from '../config/dify-targets.js';
import type { Secret } from '../config/secret.js';
import { attachDifyHooks, attemptsOf } from './dify.http-hooks.js';
import { DIFY_ROUTES, type DifyRoute } from './dify.routes.js';

const PROBE_ROUTE = DIFY_ROUTES.find((r) => r.name === 'app.info') as DifyRoute;

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
 * app through the @nestjs/axios instance whose hooks add the key, retry and convert errors.
 */
@Injectable()
export class DifyClient {
  constructor(
    private readonly http: HttpService,
    @Inject(difyConfig.KEY) private readonly cfg: ConfigType<typeof difyConfig>,
    private readonly targets: DifyTargets,
  ) {
    attachDifyHooks(http.axiosRef, cfg.retry);
  }

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

  async send(call: DifyCall): Promise<DifyCallResponse> {
    const { timeouts } = this.cfg;
    const controller = new AbortController();
    let reason: string | undefined;
    const abort = (why: string) => {
      reason ??= why;
      controller.abort();
    };
    const onCallerGone = () => abort('client_closed');
    call.signal.addEventListener('abort', onCallerGone, { once: true });
    if (call.signal.aborted) onCallerGone();
    const firstByte = setTimeout(() => abort('timeout'), timeouts.firstByteMs);
    const maxCall = setTimeout(() => abort('timeout'), timeouts.maxCallMs);
    const stopTimers = () => {
      clearTimeout(firstByte);
      clearTimeout(maxCall);
      call.signal.removeEventListener('abort', onCallerGone);
    };

    try {
      const response = await this.http.axiosRef.request({
        method: call.route.method,
        url: this.upstreamUrl(call.app, call.upstreamPath, call.rawQuery),
        headers: { ...call.headers, 'Accept-Encoding': 'identity', 'User-Agent': 'dify-gateway' },
        data: call.body,
        signal: controller.signal,
        responseType: 'stream',
        decompress: false,
        maxRedirects: 0,
        proxy: false,
        maxBodyLength: Infinity,
        maxContentLength: Infinity,
        difyCall: {
          route: call.route,
          apiKey: call.app.apiKey,
          requestId: call.requestId,
          startedAt: Date.now(),
          abortReason: () => reason,
        },
      });
      clearTimeout(firstByte);
      const body = this.watchIdle(response.data as Readable, timeouts.streamIdleMs, () => abort('timeout'), stopTimers);
      return {
        status: response.status,
        headers: flattenHeaders(response.headers as Record<string, unknown>),
        body,
        attempts: attemptsOf(response.config),
        abortReason: () => reason,
      };
    } catch (error) {
      stopTimers();
      throw error;
    }
  }

  /** A cheap authenticated call (`GET /info`) to see that the app answers and accepts our key. */
  async probe(app: DifyApp, timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await this.send({ app, route: PROBE_ROUTE, upstreamPath: PROBE_ROUTE.path, rawQuery: '', headers: {}, requestId: 'readiness-probe', signal });
    response.body.resume(); // drain and release the connection
  }

  /** Joins base URL and path and proves the result stays under the base URL. */
  private upstreamUrl(app: DifyApp, path: string, rawQuery: string): string {
    const base = new URL(app.baseUrl);
    const url = new URL(app.baseUrl + path);
    if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
      throw new Error('refusing to build an upstream URL outside the Dify base URL');
    }
    return rawQuery ? `${url.href}?${rawQuery}` : url.href;
  }

  /** Passes the body through, cutting the call when no byte arrives within `idleMs`. */
  private watchIdle(source: Readable, idleMs: number, onIdle: () => void, onEnd: () => void): Readable {
    const out = new PassThrough();
    let timer = setTimeout(onIdle, idleMs);
    source.on('data', () => {
      clearTimeout(timer);
      timer = setTimeout(onIdle, idleMs);
    });
    pipeline(source, out, () => {
      clearTimeout(timer);
      onEnd();
    });
    // The consumer stopping early (caller gone) must release the upstream socket too.
    out.on('close', () => source.destroy());
    return out;
  }
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
    else if (Array.isArray(value)) out[name.toLowerCase()] = value.join(', ');
    else if (typeof value === 'number') out[name.toLowerCase()] = String(value);
  }
  return out;
}
