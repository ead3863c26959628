/**
 * Server-sent events the way Dify writes them (SERVICE_API.md §3): one `data: {json}\n\n` frame per
 * event, the type inside the JSON, a bare `event: ping\n\n` after a quiet spell, no `[DONE]`.
 * Stream faults ('cut-stream', 'stream-error') are applied here, counted in data events.
 */
import type { ServerResponse } from 'node:http';
import type { SseEvent } from './state.js';
import type { Fault } from './types.js';
import { defaultsForStatus } from './errors.js';

/** Where a generation writes its events: an SSE response, or nothing (blocking mode). */
export interface EventSink {
  send(event: SseEvent): void;
  /** True once the client is gone or the stream was ended or cut. */
  readonly closed: boolean;
}

/** Blocking mode: the events are only used to build the final state. */
export class DiscardingSink implements EventSink {
  readonly closed = false;
  send(): void {}
}

export interface SseStreamOptions {
  pingIntervalMs: number;
  fault?: Fault;
  /** Called once when the stream is finished, cut or abandoned. */
  onClose?: () => void;
}

export class SseStream implements EventSink {
  private dataEvents = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private isClosed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseStreamOptions,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  open(): void {
    this.res.on('close', () => this.markClosed());
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
    this.armPing();
    if (this.faultDue()) {
      this.markClosed();
      setImmediate(() => this.applyFault());
    }
  }

  send(event: SseEvent): void {
    if (this.isClosed) return;
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    this.dataEvents++;
    if (this.faultDue() && this.options.fault?.kind === 'cut-stream') {
      // Let this last frame reach the client, then drop the connection.
      this.markClosed();
      this.res.write(frame, () => this.cut());
      return;
    }
    this.res.write(frame);
    this.armPing();
    if (this.faultDue()) this.applyFault();
  }

  /** Ends the response normally (or cuts it, when a cut-stream fault has not fired yet). */
  end(): void {
    if (this.isClosed) return;
    if (this.options.fault?.kind === 'cut-stream') {
      this.cut();
      return;
    }
    this.res.end();
    this.markClosed();
  }

  /** Destroys the socket without a terminal chunk, as a dropped connection would. */
  cut(): void {
    this.markClosed();
    this.res.socket?.destroy();
    this.res.destroy();
  }

  private faultDue(): boolean {
    const fault = this.options.fault;
    if (!fault || (fault.kind !== 'cut-stream' && fault.kind !== 'stream-error')) return false;
    return this.dataEvents >= (fault.afterEvents ?? 1);
  }

  private applyFault(): void {
    const fault = this.options.fault!;
    if (fault.kind === 'cut-stream') {
      this.cut();
      return;
    }
    const status = fault.status ?? 500;
    const defaults = defaultsForStatus(status);
    const message = fault.message ?? (status === 500 ? 'Internal Server Error, please contact support.' : defaults.message);
    const code = fault.code ?? (status === 500 ? 'internal_server_error' : defaults.code);
    this.markClosed();
    this.res.end(`data: ${JSON.stringify({ event: 'error', status, code, message })}\n\n`);
  }

  private armPing(): void {
    clearTimeout(this.pingTimer);
    if (this.isClosed || this.options.pingIntervalMs <= 0) return;
    this.pingTimer = setTimeout(() => {
      if (this.isClosed) return;
      this.res.write('event: ping\n\n');
      this.armPing();
    }, this.options.pingIntervalMs);
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.pingTimer);
    this.options.onClose?.();
  }
}
