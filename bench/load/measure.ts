/**
 * One row's measurements, in a fixed order: warm-up, closed loop, open loop at each rate,
 * per-chunk SSE delay, N concurrent streams (peak RSS), then RSS after the load.
 */
import { autocannon, openLoop, wrkClosedLoop, type LoadResult, type LoadTarget } from './loaders.js';
import { peakRssMb, resetPeakRss, rssMb, sleep } from './processes.js';
import type { Row } from './report.js';
import { concurrentStreams, sseChunkDelay } from './streams.js';

export interface BenchSettings {
  seconds: number;
  openSeconds: number;
  warmupSeconds: number;
  connections: number;
  openConnections: number;
  rates: number[];
  wrkThreads: number;
  useWrk: boolean;
  sse: { streams: number; chunks: number; intervalMs: number };
  streams: { count: number; chunks: number; intervalMs: number; timeoutMs: number };
  auditSeconds: number;
  /** Alternating closed-loop rounds, bare proxy then gateway, for the ratio between them. */
  pairedRounds: number;
  pairedSeconds: number;
  /** Folder for wrk scripts. */
  dir: string;
}

export function closedLoop(settings: BenchSettings, target: LoadTarget, seconds: number, connections = settings.connections): Promise<LoadResult> {
  return settings.useWrk ? wrkClosedLoop(target, seconds, connections, settings.wrkThreads, settings.dir) : autocannon(target, seconds, connections);
}

/** Peak RSS over `work`: the kernel's high-water mark when it can be reset, else sampled every 50 ms. */
async function withPeakRss<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ result: T; peakMb?: number }> {
  if (pid === undefined) return { result: await work() };
  const resettable = resetPeakRss(pid);
  let sampled = rssMb(pid) ?? 0;
  const timer = setInterval(() => (sampled = Math.max(sampled, rssMb(pid) ?? 0)), 50);
  try {
    const result = await work();
    const kernel = resettable ? peakRssMb(pid) : undefined;
    return { result, peakMb: Math.max(sampled, kernel ?? 0) };
  } finally {
    clearInterval(timer);
  }
}

export interface MeasureOptions {
  /** The process whose memory the row reports (the gateway, the bare proxy). */
  pid?: number;
  /** Wraps the closed loop, e.g. to count audit events around it. */
  aroundClosed?: (load: () => Promise<LoadResult>) => Promise<LoadResult>;
}

export async function measureRow(row: Row, settings: BenchSettings, target: LoadTarget, options: MeasureOptions = {}): Promise<void> {
  const step = (what: string) => console.error(`  ${row.name}: ${what}`);
  step(`warm-up ${settings.warmupSeconds} s`);
  if (settings.warmupSeconds > 0) await closedLoop(settings, target, settings.warmupSeconds);

  step(`closed loop ${settings.seconds} s, ${settings.connections} connections`);
  const closed = () => closedLoop(settings, target, settings.seconds);
  row.closed = options.aroundClosed ? await options.aroundClosed(closed) : await closed();
  row.errors += row.closed.errors;
  if (row.closed.errors > 0) row.notes.push(`closed loop: ${row.closed.errors} non-2xx answers or socket errors`);

  for (const rate of settings.rates) {
    step(`open loop ${rate} rps for ${settings.openSeconds} s`);
    const result = await openLoop(target, settings.openSeconds, rate, settings.openConnections);
    row.open.set(rate, result);
    row.errors += result.errors;
    if (result.errors > 0) {
      const kinds = Object.entries(result.failures ?? {}).map(([why, n]) => `${n} × ${why}`);
      row.notes.push(`open loop ${rate} rps: ${result.errors} of ${result.total} failed (${kinds.join(', ')})`);
    }
    await sleep(500);
  }

  const { sse } = settings;
  step(`SSE: ${sse.streams} streams of ${sse.chunks} events ${sse.intervalMs} ms apart`);
  row.sse = await sseChunkDelay(target, sse.streams, sse.chunks, sse.intervalMs);
  row.errors += row.sse.failed;
  if (row.sse.failed > 0) row.notes.push(`SSE: ${row.sse.failed} of ${sse.streams} streams did not answer 200`);

  const s = settings.streams;
  step(`${s.count} concurrent streams of ${s.chunks} events ${s.intervalMs} ms apart`);
  const { result, peakMb } = await withPeakRss(options.pid, () => concurrentStreams(target, s.count, s.chunks, s.intervalMs, s.timeoutMs));
  row.streams = result;
  row.peakRssMb = peakMb;
  row.errors += result.failed;
  if (result.failed > 0) row.notes.push(`${result.failed} of ${s.count} concurrent streams did not answer 200`);

  if (options.pid !== undefined) {
    await sleep(1000);
    row.rssAfterMb = rssMb(options.pid);
  }
}
