/**
 * One request as the handlers see it: parsed URL, raw body, route params, the authenticated app,
 * and helpers that write Dify-shaped responses (applying a pending 'cut-stream' fault to any of them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DifyApiError, internalError } from './errors.js';
import type { KnowledgeBase } from './knowledge-types.js';
import type { AppRecord, SimulatorState } from './state.js';
import { SseStream } from './sse.js';
import type { Fault, RecordedRequest } from './types.js';

/** What every handler may use of the running simulator. */
export interface SimulatorRuntime {
  state: SimulatorState;
  /** Valid knowledge keys (`dataset-…`); several, as Dify allows, so a key can be rotated. */
  datasetKeys: Set<string>;
  /** The workspace's knowledge bases. */
  knowledge: Map<string, KnowledgeBase>;
  pingIntervalMs: number;
  streamChunkDelayMs: number;
  answer: string;
  /** See SimulatorOptions.legacyWorkflowLogs. */
  legacyWorkflowLogs: boolean;
  /** Aborted when the simulator closes. */
  closing: AbortSignal;
  /** Origin of the server, e.g. http://127.0.0.1:5001 */
  origin: string;
  /** Open SSE streams, closed by close(). */
  streams: Set<SseStream>;
}

export class RequestContext {
  params: Record<string, string> = {};
  app?: AppRecord;
  /** Aborted when the client goes away before the response is complete, or the simulator closes. */
  readonly signal: AbortSignal;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: URL,
    /** The path below /v1, e.g. `/chat-messages`. */
    readonly path: string,
    readonly rawBody: Buffer,
    readonly record: RecordedRequest,
    readonly sim: SimulatorRuntime,
    readonly streamFault?: Fault,
  ) {
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    this.signal = AbortSignal.any([clientGone.signal, sim.closing]);
  }

  get method(): string {
    return (this.req.method ?? 'GET').toUpperCase();
  }

  get query(): URLSearchParams {
    return this.url.searchParams;
  }

  get sent(): boolean {
    return this.res.headersSent || this.res.destroyed;
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.send(status, Buffer.from(JSON.stringify(body)), { 'Content-Type': 'application/json', ...headers });
  }

  error(err: unknown): void {
    const apiError = err instanceof DifyApiError ? err : internalError();
    if (!(err instanceof DifyApiError)) console.error('[dify-simulator] handler failed:', err);
    if (this.sent) {
      this.res.destroy();
      return;
    }
    this.json(apiError.status, apiError.toBody(), apiError.headers);
  }

  empty(status = 204): void {
    this.send(status, Buffer.alloc(0), {});
  }

  bytes(status: number, data: Buffer, headers: Record<string, string>): void {
    this.send(status, data, headers);
  }

  /** Starts an SSE response; the stream applies any stream fault of this request. */
  sse(onClose?: () => void): SseStream {
    const stream = new SseStream(this.res, {
      pingIntervalMs: this.sim.pingIntervalMs,
      fault: this.streamFault,
      onClose: () => {
        this.sim.streams.delete(stream);
        onClose?.();
      },
    });
    this.sim.streams.add(stream);
    stream.open();
    return stream;
  }

  private send(status: number, data: Buffer, headers: Record<string, string>): void {
    if (this.sent) return;
    const fault = this.streamFault;
    if (fault?.kind === 'stream-error') {
      // A stream fault hit a non-streaming answer: answer with the error as plain JSON instead.
      const error = new DifyApiError(
        fault.status ?? 500,
        fault.code ?? 'internal_server_error',
        fault.message ?? 'Internal Server Error, please contact support.',
      );
      data = Buffer.from(JSON.stringify(error.toBody()));
      status = error.status;
      headers = { 'Content-Type': 'application/json' };
    }
    const withLength = status === 204 ? headers : { ...headers, 'Content-Length': String(data.length) };
    this.res.writeHead(status, withLength);
    if (fault?.kind === 'cut-stream') {
      // Half of the body, then a dropped connection.
      this.res.write(data.subarray(0, Math.floor(data.length / 2)), () => {
        this.res.socket?.destroy();
        this.res.destroy();
      });
      return;
    }
    this.res.end(data);
  }
}

/** A context whose route required an app key. */
export type AppContext = RequestContext & { app: AppRecord };
