/**
 * Streaming measurements against any row: the upstream writes its wall clock into each `message`
 * event's `answer`, so the client sees how long each event took to arrive (per-chunk delay), and
 * how long N streams asked for at once take to open (first body byte).
 */
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadTarget } from './loaders.js';

const wallClock = () => performance.timeOrigin + performance.now();

/** One deadline for many requests (each adds an abort listener). */
function deadline(ms: number): AbortSignal {
  const signal = AbortSignal.timeout(ms);
  setMaxListeners(0, signal);
  return signal;
}

function streamBody(chunks: number, intervalMs: number): string {
  return JSON.stringify({ inputs: { chunks, interval_ms: intervalMs }, query: 'Hi', user: 'bench', response_mode: 'streaming' });
}

interface StreamHandlers {
  onFirstByte(): void;
  onEvent(data: Record<string, unknown>, receivedAt: number): void;
}

/** One streaming call; resolves with its HTTP status when the stream ends (or fails). */
function openStream(target: LoadTarget, body: string, agent: Agent, handlers: StreamHandlers, signal: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    const url = new URL(target.url);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        signal,
        headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let first = true;
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const receivedAt = wallClock();
          if (first) {
            first = false;
            handlers.onFirstByte();
          }
          buffered += chunk;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const frame = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = frame.split('\n').find((line) => line.startsWith('data: '));
            if (!data) continue;
            try {
              handlers.onEvent(JSON.parse(data.slice(6)) as Record<string, unknown>, receivedAt);
            } catch {
              // not JSON: ignored
            }
          }
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export interface ChunkDelay {
  p50Ms: number;
  p99Ms: number;
  events: number;
  failed: number;
}

/** `streams` concurrent streams of `chunks` events `intervalMs` apart: how late each event arrives. */
export async function sseChunkDelay(target: LoadTarget, streams: number, chunks: number, intervalMs: number): Promise<ChunkDelay> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const delays: number[] = [];
  const signal = deadline(chunks * intervalMs + 30_000);
  const statuses = await Promise.all(
    Array.from({ length: streams }, () =>
      openStream(
        target,
        streamBody(chunks, intervalMs),
        agent,
        {
          onFirstByte: () => undefined,
          onEvent: (data, receivedAt) => {
            if (data.event === 'message' && typeof data.answer === 'string') delays.push(receivedAt - Number(data.answer));
          },
        },
        signal,
      ),
    ),
  );
  agent.destroy();
  delays.sort((a, b) => a - b);
  return { p50Ms: quantile(delays, 0.5), p99Ms: quantile(delays, 0.99), events: delays.length, failed: statuses.filter((s) => s !== 200).length };
}

export interface ConcurrentStreams {
  /** From asking for all streams at once until the last one's first body byte (ms). */
  allOpenMs: number;
  /** Until the last stream ended (ms). */
  allDoneMs: number;
  opened: number;
  failed: number;
}

/** Asks for `n` streams at once, each `chunks` events `intervalMs` apart. Bounded by `timeoutMs`. */
export async function concurrentStreams(target: LoadTarget, n: number, chunks: number, intervalMs: number, timeoutMs: number): Promise<ConcurrentStreams> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const signal = deadline(timeoutMs);
  const body = streamBody(chunks, intervalMs);
  const t0 = performance.now();
  let lastOpen = NaN;
  let opened = 0;
  const statuses = await Promise.all(
    Array.from({ length: n }, () =>
      openStream(
        target,
        body,
        agent,
        {
          onFirstByte: () => {
            opened++;
            lastOpen = performance.now() - t0;
          },
          onEvent: () => undefined,
        },
        signal,
      ),
    ),
  );
  const allDoneMs = performance.now() - t0;
  agent.destroy();
  const failed = statuses.filter((s) => s !== 200).length;
  return { allOpenMs: opened === n ? lastOpen : NaN, allDoneMs, opened, failed };
}
