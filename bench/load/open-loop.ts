/**
 * An open-loop load generator (the wrk2 idea), run in its own process by the bench:
 * `open-loop.ts <url> <bearer key> <rate> <seconds> <max connections>`.
 *
 * Request i is due at t0 + i/rate whatever the answers do, and its latency is counted from when
 * it was due, not from when it went out, so a target that falls behind shows its queue instead of
 * hiding it (no coordinated omission). autocannon's `-R` was tried first: it releases each
 * connection's share in bursts once per second, which adds tens of ms of queueing to even the
 * direct row. Prints one JSON line: {sent, ok, errors, rps, p50Ms, p99Ms, failures}.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, key, rateArg, secondsArg, connectionsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
if (!url || !key || !(rate > 0) || !(seconds > 0)) throw new Error('usage: open-loop.ts <url> <key> <rate> <seconds> <max connections>');

const BODY = JSON.stringify({ inputs: {}, query: 'Hi', user: 'bench', response_mode: 'blocking' });
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: Number(connectionsArg) || 256 });
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) };
/** How long answers still due may take after the last request was sent. */
const DRAIN_MS = 10_000;

const total = Math.round(rate * seconds);
const latencies: number[] = [];
let ok = 0;
let errors = 0;
/** Failures by HTTP status, or by `timeout` / `socket`. */
const failures: Record<string, number> = {};
const fail = (why: string) => {
  errors++;
  failures[why] = (failures[why] ?? 0) + 1;
};
let done = 0;
let lastAnswer = 0;

function send(due: number): void {
  const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers, timeout: DRAIN_MS }, (res) => {
    res.resume();
    res.on('end', () => {
      const now = performance.now();
      latencies.push(now - due);
      if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) ok++;
      else fail(String(res.statusCode));
      lastAnswer = now;
      finish();
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (error) => {
    fail(error.message === 'timeout' ? 'timeout' : 'socket');
    finish();
  });
  req.end(BODY);
}

const t0 = performance.now() + 20;
let next = 0;
const timer = setInterval(() => {
  const now = performance.now();
  while (next < total && t0 + (next * 1000) / rate <= now) {
    send(t0 + (next * 1000) / rate);
    next++;
  }
  if (next >= total) clearInterval(timer);
}, 1);

const hardStop = setTimeout(() => report(), seconds * 1000 + DRAIN_MS + 2000);

function finish(): void {
  done++;
  if (done === total) report();
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(hardStop);
  clearInterval(timer);
  latencies.sort((a, b) => a - b);
  const unanswered = total - done;
  if (unanswered > 0) failures.unanswered = unanswered;
  const elapsed = Math.max(seconds * 1000, lastAnswer - t0);
  process.stdout.write(
    `${JSON.stringify({ sent: next, ok, errors: errors + unanswered, rps: (ok * 1000) / elapsed, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), failures })}\n`,
  );
  agent.destroy();
  process.exit(0);
}
