/**
 * `npm run bench:tracing`: what tracing costs per /v1 call, in CPU, apart from everything else.
 *
 * Runs the calls' tracing hooks as the pipeline makes them (server span from a caller's
 * traceparent, write-ahead step, one attempt with its injected headers, relay step, end with the
 * summary) TRACING_CALLS times (default 50 000): without any hook (baseline), with the no-op tracer (off), and
 * with the real SDK exporting over OTLP/HTTP (default protocol, http/protobuf) to a loopback sink,
 * export and serialization included (the batch is flushed before the clock stops). Figures only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NoopCallTracer, type CallTracer } from '../src/tracing/call-tracer.js';

const CALLS = Number(process.env.TRACING_CALLS ?? 50_000);
const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'content-type': 'application/json' };
const upstreamHeaders = { 'content-type': 'application/json', Authorization: 'Bearer app-x', 'X-Request-Id': 'r' };
const summary = {
  route: { name: 'chat.create', method: 'POST', path: '/chat-messages' },
  app: 'default',
  keyId: 'key-1',
  requestId: 'req-1',
  status: 200,
  outcome: 'success',
  attempts: 1,
  usage: { inputTokens: 12, outputTokens: 30, totalTokens: 42 },
};
const done = Promise.resolve();

async function tracedCall(tracer: CallTracer): Promise<void> {
  const trace = tracer.startCall('POST', headers);
  await trace.step('audit.write_ahead', () => done);
  const span = trace.attempt('POST', '/chat-messages');
  if (span) span.headers(upstreamHeaders);
  span?.end({ label: '200', status: 200 });
  await trace.step('relay', () => done);
  trace.end(summary);
}

/** The same awaits without any tracing hook: what the pipeline pays anyway. */
async function bareCall(): Promise<void> {
  await done;
  await done;
}

async function measure(name: string, tracer: CallTracer | undefined): Promise<number> {
  const oneCall = tracer ? () => tracedCall(tracer) : bareCall;
  for (let i = 0; i < 2_000; i++) await oneCall(); // warm-up
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    await oneCall();
    // Let the exporter's requests run, as they would between real calls (else its queue drops spans).
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await tracer?.shutdown(); // the last batches exported: their cost counted too
  const wallUs = Number(process.hrtime.bigint() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / CALLS;
  console.log(`${name}: ${cpuUs.toFixed(2)} µs CPU per call (${(wallUs / CALLS).toFixed(2)} µs wall), ${CALLS} calls`);
  return cpuUs;
}

async function main(): Promise<void> {
  let received = 0;
  const sink = createServer((req, res) => {
    req.on('data', (c: Buffer) => (received += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  process.env.OTEL_BSP_MAX_QUEUE_SIZE ??= '100000';

  // Sub-microsecond figures: three alternating rounds, the best of each.
  let bare = Infinity;
  let off = Infinity;
  for (let round = 0; round < 3; round++) {
    bare = Math.min(bare, await measure('no hooks at all (baseline)', undefined));
    off = Math.min(off, await measure('tracing off (no-op)', new NoopCallTracer()));
  }
  console.log(`tracing off adds ${(off - bare).toFixed(2)} µs CPU per call (best of 3)`);
  const { startOtelTracer } = await import('../src/tracing/otel-sdk.js');
  const on = await measure('tracing on (SDK, OTLP http/protobuf)', startOtelTracer('bench'));
  console.log(`exported ${(received / 1024 / 1024).toFixed(1)} MiB; tracing on adds ${(on - off).toFixed(2)} µs CPU per call`);
  sink.close();
}

void main();
