/**
 * `npm run bench:memory`: where the gateway's memory goes, side by side in one run. For the bare
 * Node proxy and the gateway (Postgres, everything on as in bench:load), and for each variant in
 * MEM_VARIANTS, it prints the RSS after boot, after a closed-loop warm-up, the peak while
 * MEM_STREAMS (1,000) streams are open at once (30 events 100 ms apart, as bench:load), and a
 * second after they end. MEM_VARIANTS is a JSON object: name → `{ env?: {...}, nodeArgs?: [...] }`,
 * e.g. `{"arenas 2":{"env":{"MALLOC_ARENA_MAX":"2"}}}`. Figures only.
 */
import { prepareGatewayDatabase, startGateway, APP_KEY } from './load/gateway.js';
import { autocannon, type LoadTarget } from './load/loaders.js';
import { cleanupAll, peakRssMb, resetPeakRss, rssMb, sleep, startHelperServer } from './load/processes.js';
import { concurrentStreams } from './load/streams.js';

const STREAMS = Number(process.env.MEM_STREAMS ?? 1000);

interface Variant {
  env?: Record<string, string>;
  nodeArgs?: string[];
}

interface Figures {
  bootMb?: number;
  warmMb?: number;
  peakMb?: number;
  afterMb?: number;
  allOpenMs: number;
  failed: number;
}

async function measure(pid: number, target: LoadTarget): Promise<Figures> {
  await sleep(1000);
  const bootMb = rssMb(pid);
  await autocannon(target, 3, 32);
  await sleep(500);
  const warmMb = rssMb(pid);
  resetPeakRss(pid);
  let sampled = 0;
  const timer = setInterval(() => (sampled = Math.max(sampled, rssMb(pid) ?? 0)), 50);
  const streams = await concurrentStreams(target, STREAMS, 30, 100, 60_000);
  clearInterval(timer);
  const peakMb = Math.max(sampled, peakRssMb(pid) ?? 0);
  await sleep(1000);
  return { bootMb, warmMb, peakMb, afterMb: rssMb(pid), allOpenMs: streams.allOpenMs, failed: streams.failed };
}

const mb = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(0)} MB`);

async function main(): Promise<void> {
  const upstream = await startHelperServer('upstream', './upstream.ts');
  const bare = await startHelperServer('bare proxy', './bare-proxy.ts', [upstream.url]);
  const rows: [string, Figures][] = [['bare proxy', await measure(bare.pid, { url: `${bare.url}/v1/chat-messages`, key: APP_KEY })]];
  await bare.stop();
  const variants: Record<string, Variant> = { gateway: {}, ...(JSON.parse(process.env.MEM_VARIANTS ?? '{}') as Record<string, Variant>) };
  for (const [name, variant] of Object.entries(variants)) {
    const db = await prepareGatewayDatabase('postgres', upstream.url, { DIFY_MAX_CONCURRENT_CALLS: String(2 * STREAMS), ...variant.env });
    const gw = await startGateway(db, name, variant.nodeArgs);
    rows.push([name, await measure(gw.pid, { url: `${gw.origin}/v1/chat-messages`, key: db.key })]);
    await gw.stop();
  }
  console.log(`| | after boot | after warm-up | peak, ${STREAMS} streams | 1 s after | all open | failed |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, f] of rows) {
    console.log(`| ${name} | ${mb(f.bootMb)} | ${mb(f.warmMb)} | ${mb(f.peakMb)} | ${mb(f.afterMb)} | ${(f.allOpenMs / 1000).toFixed(2)} s | ${f.failed} |`);
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
