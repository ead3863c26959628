import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createGatewayApp } from '../../src/bootstrap.js';
import { ApiKeyService, type CreateKeyInput } from '../../src/auth/api-key.service.js';
import { DifyTargets } from '../../src/config/dify-targets.js';
import { gatewayConfig, resetGatewayConfigForTests, setGatewayConfigForTests, type GatewayConfig } from '../../src/config/gateway-config.js';
import { startDifySimulator, type DifySimulator, type SimulatorOptions } from '../../simulator/dify-simulator.js';
import { captureOutput, type CapturedOutput } from './capture-output.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { testRedisPrefix } from './redis.js';

/** Canary secrets: tests assert that these never appear in logs, bodies or rows. */
export const CANARY_DIFY_KEY = 'app-CANARYdifyKEY0123456789';

export interface TestGateway {
  app: INestApplication;
  /** Gateway base URL including /v1, as a team would configure the SDK. */
  baseUrl: string;
  origin: string;
  sim: DifySimulator;
  db: TestDatabase;
  output: CapturedOutput;
  createKey(scopes: string[], name?: string, app?: string): Promise<{ id: string; key: string }>;
  /** A key with any of the options of the admin API (apps default to `default`). */
  createKeyWith(input: Partial<CreateKeyInput> & { scopes: string[] }): Promise<{ id: string; key: string; namespace: string }>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  db?: 'postgres' | 'pglite';
  simulator?: SimulatorOptions;
  env?: Record<string, string>;
  /**
   * Changes the validated config before the app is built, for a value the environment rightly
   * refuses but a test needs (an idle timeout under Dify's 10 s ping, so the test does not wait it).
   */
  configure?: (cfg: GatewayConfig) => GatewayConfig;
}

/**
 * Starts the real gateway (same bootstrap as production) on a random loopback port, in front
 * of a fresh Dify simulator and a fresh database. Only the environment differs from production.
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const sim = await startDifySimulator({ apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], pingIntervalMs: 200, streamChunkDelayMs: 5, ...options.simulator });
  // Already migrated: the gateway's subject here is calls, not migrations (those have their own tests).
  const db = await createTestDatabase(options.db ?? 'pglite', { migrated: true });
  const saved = { ...process.env };
  Object.assign(process.env, {
    DIFY_BASE_URL: sim.url,
    DIFY_API_KEY: sim.apps[0].key,
    DIFY_ALLOW_INSECURE_HTTP: 'true',
    DIFY_RETRY_BASE_DELAY_MS: '10',
    DIFY_RETRY_MAX_DELAY_MS: '50',
    DIFY_READY_CACHE_MS: '0',
    DIFY_READY_FAILURES: '1',
    // Suites that script many failures in a row would otherwise open the circuit; the breaker's
    // own tests turn it on.
    DIFY_BREAKER_FAILURE_PERCENT: '0',
    LOG_LEVEL: 'verbose',
    LOG_FORMAT: 'json',
    // Every gateway its own keys, should a suite give it REDIS_URL (parallel workers share one Redis).
    REDIS_KEY_PREFIX: testRedisPrefix(),
    PGLITE_DIR: db.pgliteDir,
    MIGRATIONS_DIR: db.migrationsDir,
    ...(db.url ? { DATABASE_URL: db.url } : {}),
    ...options.env,
  });
  if (!db.url) delete process.env.DATABASE_URL;
  resetGatewayConfigForTests();
  const output = captureOutput();
  let app: INestApplication;
  try {
    if (options.configure) setGatewayConfigForTests(options.configure);
    app = await createGatewayApp();
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    output.restore();
    process.env = saved;
    await sim.close();
    await db.drop();
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const keys = app.get(ApiKeyService);
  return {
    app,
    origin,
    baseUrl: `${origin}/v1`,
    sim,
    db,
    output,
    async createKey(scopes, name = 'team-test', appAlias = 'default') {
      const created = await keys.create({ name, app: appAlias, scopes }, Object.keys(gatewayConfig().dify.apps));
      return { id: created.id, key: created.key };
    },
    async createKeyWith(input) {
      const apps = input.apps ?? (input.app ? [input.app] : ['default']);
      const created = await keys.create({ name: 'team-test', ...input, apps }, app.get(DifyTargets).aliases());
      return { id: created.id, key: created.key, namespace: created.namespace };
    },
    async close() {
      await app.close();
      output.restore();
      await sim.close();
      await db.drop();
      process.env = saved;
      resetGatewayConfigForTests();
    },
  };
}
