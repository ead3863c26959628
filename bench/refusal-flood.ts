/**
 * `npm run bench:refusal-flood`: does legitimate traffic keep its rate while someone floods the
 * gateway with calls that have no valid key?
 *
 * Starts the Dify simulator, a fresh Postgres database and a real gateway process (node
 * dist/main.js, built first), then sends
 * blocking chats with a valid key at BENCH_LEGIT_RPS, first alone and then while a second client
 * sends BENCH_FLOOD_RPS calls with made-up keys (over BENCH_FLOOD_CONNECTIONS connections). Prints rate, p50 and p99 of the legitimate calls
 * and the audit rows written in each phase. No assertions: figures only.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ApiKeyRepository } from '../src/auth/api-key.repository.js';
import { ApiKeyService } from '../src/auth/api-key.service.js';
import { openDatabase } from '../src/database/open-database.js';
import { startDifySimulator } from '../simulator/dify-simulator.js';
import { createTestDatabase } from '../test/support/database.js';
import { startGatewayProcess } from '../test/support/gateway-process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LEGIT_RPS = Number(process.env.BENCH_LEGIT_RPS ?? 200);
const FLOOD_RPS = Number(process.env.BENCH_FLOOD_RPS ?? 3000);
/** The gateway holds refusals beyond a source's budget back for a second: more connections, more rate. */
const FLOOD_CONNECTIONS = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 100);
const BODY = JSON.stringify({ inputs: {}, query: 'Hi', user: 'bench', response_mode: 'blocking' });
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A well-formed key nobody issued (a new one each call: no cache helps). */
function madeUpKey(): string {
  return 'dgw_' + [...randomBytes(40)].map((b) => BASE62[b % 62]).join('');
}

function legit(url: string, key: string): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v1/chat-messages`,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: BODY,
    connections: 20,
    overallRate: LEGIT_RPS,
    duration: SECONDS,
  });
}

function flood(url: string): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v1/chat-messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: FLOOD_CONNECTIONS,
    overallRate: FLOOD_RPS,
    duration: SECONDS,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${madeUpKey()}` } }) }],
  });
}

async function rows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*) AS n FROM audit_events')).rows[0].n);
  } finally {
    await client.end();
  }
}

function line(name: string, r: autocannon.Result, written: number): string {
  const ok = r['2xx'];
  return `${name}: ${(ok / SECONDS).toFixed(0)} rps ok (${r.non2xx} non-2xx, ${r.errors} errors), p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms; audit rows written ${written}`;
}

async function main(): Promise<void> {
  const appKey = 'app-benchBENCHbench0123456789';
  const sim = await startDifySimulator({ apps: [{ key: appKey, mode: 'chat' }], answer: 'ok', streamChunkDelayMs: 0 });
  const db = await createTestDatabase('postgres');
  const opened = await openDatabase(db);
  const { key } = await new ApiKeyService(new ApiKeyRepository(opened)).create(
    { name: 'bench', scopes: ['chat'], apps: ['default'], limits: { requestsPerMinute: 0, concurrentStreams: 0 } },
    ['default'],
  );
  await opened.close();
  const env = { DIFY_BASE_URL: sim.url, DIFY_API_KEY: appKey, DIFY_ALLOW_INSECURE_HTTP: 'true', DATABASE_URL: db.url!, DIFY_READY_CACHE_MS: '0' };
  // BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof': where the gateway spends its time.
  const gw = await startGatewayProcess(env, (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean));
  try {
    await legit(gw.origin, key); // warm-up (also fills the key cache)
    let before = await rows(db.url!);
    const alone = await legit(gw.origin, key);
    let after = await rows(db.url!);
    console.log(line('legit alone', alone, after - before));
    before = after;
    const [under, flooded] = await Promise.all([legit(gw.origin, key), flood(gw.origin)]);
    after = await rows(db.url!);
    console.log(line('legit under flood', under, after - before));
    console.log(`flood: ${(flooded.requests.total / SECONDS).toFixed(0)} rps sent, ${flooded['4xx'] ?? flooded.non2xx} refused, p50 ${flooded.latency.p50} ms`);
  } finally {
    await gw.stop();
    await sim.close();
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
