/**
 * Load generators, each in its own process, all sending the same small blocking chat: wrk (C,
 * closed loop) when installed, else autocannon (closed loop); open loop by ./open-loop.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, runTracked } from './processes.js';

export const CHAT_BODY = JSON.stringify({ inputs: {}, query: 'Hi', user: 'bench', response_mode: 'blocking' });

export interface LoadResult {
  tool: 'wrk' | 'autocannon' | 'open-loop';
  /** Completed requests per second (any status). */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  /** Failures by HTTP status or kind (open loop only). */
  failures?: Record<string, number>;
}

export interface LoadTarget {
  /** Full URL of `POST .../chat-messages`. */
  url: string;
  key: string;
  /** `GET` sends no body (autocannon only: bench:cpu-per-call's framework rows); `POST` (default) a blocking chat. */
  method?: 'GET' | 'POST';
}

/** Converts wrk's `530.00us` / `1.20ms` / `2.01s` to ms. */
function wrkMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!match) throw new Error(`unreadable wrk latency "${value}"`);
  const n = Number(match[1]);
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
}

export function parseWrk(out: string): LoadResult {
  const field = (re: RegExp) => re.exec(out)?.[1];
  const rps = Number(field(/Requests\/sec:\s+([\d.]+)/));
  const p50 = field(/^\s+50%\s+(\S+)/m);
  const p99 = field(/^\s+99%\s+(\S+)/m);
  if (!Number.isFinite(rps) || !p50 || !p99) throw new Error(`unreadable wrk output:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    tool: 'wrk',
    rps,
    p50Ms: wrkMs(p50),
    p99Ms: wrkMs(p99),
    total: Number(field(/(\d+) requests in/) ?? 0),
    errors: Number(field(/Non-2xx or 3xx responses: (\d+)/) ?? 0) + socketErrors,
  };
}

/** Closed loop with wrk: `connections` callers, each sending its next request on an answer. */
export async function wrkClosedLoop(target: LoadTarget, seconds: number, connections: number, threads: number, dir: string): Promise<LoadResult> {
  const script = join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = '${CHAT_BODY}'`,
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Authorization"] = "Bearer ${target.key}"`,
      '',
    ].join('\n'),
  );
  const stdout = await runTracked(
    'wrk',
    ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s', '--latency', '-s', script, target.url],
    {
      timeout: (seconds + 30) * 1000,
      maxBuffer: 1 << 20,
    },
  );
  return parseWrk(stdout);
}

/** Open loop at `rate` requests per second for `seconds` (see ./open-loop.ts). */
export async function openLoop(target: LoadTarget, seconds: number, rate: number, maxConnections: number): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./open-loop.ts', import.meta.url));
  const stdout = await runTracked(
    process.execPath,
    ['--import', 'tsx', script, target.url, target.key, String(rate), String(seconds), String(maxConnections)],
    {
      cwd: ROOT,
      timeout: (seconds + 40) * 1000,
    },
  );
  const json = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
    sent: number;
    ok: number;
    errors: number;
    rps: number;
    p50Ms: number | null;
    p99Ms: number | null;
    failures: Record<string, number>;
  };
  // No answered request has no quantile: NaN, which JSON carries as null (the table shows n/a).
  const figure = (n: number | null) => n ?? Number.NaN;
  return {
    tool: 'open-loop',
    rps: json.rps,
    p50Ms: figure(json.p50Ms),
    p99Ms: figure(json.p99Ms),
    total: json.sent,
    errors: json.errors,
    failures: json.failures,
  };
}

interface AutocannonJson {
  latency: { p50: number; p99: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** autocannon's closed loop in a child process (when wrk is not installed). */
export async function autocannon(target: LoadTarget, seconds: number, connections: number): Promise<LoadResult> {
  const args = [
    '--json',
    '-c',
    String(connections),
    '-d',
    String(seconds),
    ...(target.method === 'GET' ? ['-m', 'GET'] : ['-m', 'POST', '-b', CHAT_BODY, '-H', 'content-type=application/json']),
    '-H',
    `authorization=Bearer ${target.key}`,
    '-t',
    '10',
  ];
  const stdout = await runTracked(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), ...args, target.url], {
    timeout: (seconds + 30) * 1000,
    maxBuffer: 8 << 20,
  });
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`autocannon printed no result: ${stdout.slice(-500)}`);
  const json = JSON.parse(line) as AutocannonJson;
  return {
    tool: 'autocannon',
    rps: json.requests.total / seconds,
    p50Ms: json.latency.p50,
    p99Ms: json.latency.p99,
    total: json.requests.total,
    errors: json.non2xx + json.errors + json.timeouts,
  };
}
