import { Logger } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import type { SealSummary } from './audit-sealer.js';
import type { SealPort } from './audit-sequencer.js';
import type { SealReply, SealRequest, SealThreadError, SealThreadOptions } from './seal-thread.js';

/**
 * The thread's entry beside this file: compiled .js in dist/; under jest and tsx the .ts source,
 * loaded through tsx (its imports name our .js files, as everywhere in src/).
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD = new URL(FROM_SOURCE ? './seal-thread.ts' : './seal-thread.js', import.meta.url);

type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;

/** An error from the thread again, with its name and SQLSTATE (the sequencer logs its message). */
function toError(e: SealThreadError): Error {
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}

/**
 * The sequencer's rounds in a worker thread (./seal-thread.ts), on Postgres: the main thread
 * only posts "seal up to N" and gets back counts and seal lags. The thread starts on the first
 * round; if it dies, its lease dies with its connection, pending rounds fail, and the next round
 * starts a new thread. It keeps the process alive only while a request is pending.
 */
export class SealThread implements SealPort {
  private readonly logger = new Logger(SealThread.name);
  private worker?: Worker;
  private readonly pending = new Map<number, { worker: Worker; resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 1;

  constructor(
    private readonly options: SealThreadOptions,
    private readonly bounds: Pick<SealPort, 'inboxBounds'>,
  ) {}

  open(): void {
    this.worker ??= this.start();
  }

  seal(limit: number): Promise<SealSummary | null> {
    return this.request({ op: 'seal', limit }) as Promise<SealSummary | null>;
  }

  async releaseLease(): Promise<void> {
    if (this.worker) await this.request({ op: 'release' });
  }

  inboxBounds(): Promise<{ oldest: number | null; newest: number | null }> {
    return this.bounds.inboxBounds();
  }

  /** Gives the lease up, ends the thread's pool and the thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.request({ op: 'close' }).catch(() => undefined);
    this.worker = undefined;
    await worker.terminate();
  }

  private request(body: WithoutId<SealRequest>): Promise<unknown> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.ref();
      worker.postMessage({ ...body, id });
    });
  }

  private start(): Worker {
    const worker = new Worker(THREAD, { workerData: this.options, execArgv: FROM_SOURCE ? ['--import', 'tsx'] : [] });
    worker.unref();
    worker.on('message', (reply: SealReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (![...this.pending.values()].some((p) => p.worker === worker)) worker.unref();
      if (reply.error) waiting?.reject(toError(reply.error));
      else waiting?.resolve(reply.value);
    });
    const stopped = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, waiting] of this.pending) {
        if (waiting.worker !== worker) continue;
        this.pending.delete(id);
        waiting.reject(error);
      }
    };
    worker.on('error', (err) => {
      // Its name only: an error thrown in the thread is not ours to vet (it could quote a value).
      this.logger.error(`the audit sealing thread failed (${err.name}); the next round starts a new one`);
      stopped(new Error(`the audit sealing thread failed (${err.name})`));
    });
    worker.on('exit', (code) => stopped(new Error(`the audit sealing thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
