import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeConfig } from './describe-config.js';
import { ConfigValidationError, defaultMigrationsDir } from './env.schema.js';
import { loadGatewayConfig, type GatewayConfig } from './gateway-config.js';
import { Secret } from './secret.js';

const CANARY = 'app-CANARYcanary0123456789ab';
const CANARY2 = 'app-CANARYsecond0123456789cd';
const DB_CANARY = 'postgresql://gateway:CANARYdbpass@db.internal:5432/gw?sslmode=require&password=CANARYq';

function failure(env: Record<string, string | undefined>): ConfigValidationError {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return error as ConfigValidationError;
  }
  throw new Error('expected a ConfigValidationError');
}

/** Every way the config (or its error) can be printed. */
function renderings(cfg: GatewayConfig): string[] {
  const secrets = [...Object.values(cfg.dify.apps).map((app) => app.apiKey), ...(cfg.database.url ? [cfg.database.url] : [])];
  return [
    JSON.stringify(cfg),
    inspect(cfg, { depth: 10 }),
    inspect(cfg, { depth: 10, showHidden: true }),
    String(cfg.dify.apps[cfg.dify.defaultApp]?.apiKey),
    `${cfg.database.url}`,
    describeConfig(cfg),
    ...secrets.map((secret) => String(secret)),
  ];
}

describe('loadGatewayConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const appsFile = (name: string, doc: unknown): string => file(name, JSON.stringify(doc));

  it('builds the typed config with every default from a minimal env', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY });
    expect(cfg.app).toEqual({
      port: 3000,
      host: '0.0.0.0',
      logLevel: 'log',
      logJson: true,
      shutdownDrainMs: 15000,
      trustProxy: false,
    });
    expect(Object.keys(cfg.dify.apps)).toEqual(['default']);
    expect(cfg.dify.apps.default).toEqual({ alias: 'default', baseUrl: 'https://api.dify.ai/v1', apiKey: expect.any(Secret) });
    expect(cfg.dify.apps.default?.apiKey.reveal()).toBe(CANARY);
    const { apps: _apps, ...rest } = cfg.dify;
    expect(rest).toEqual({
      defaultApp: 'default',
      allowInsecureHttp: false,
      timeouts: { connectMs: 5000, firstByteMs: 120000, streamIdleMs: 60000, maxCallMs: 1200000 },
      retry: { maxRetries: 2, baseDelayMs: 200, maxDelayMs: 5000, maxRetryAfterMs: 10000 },
      maxConcurrentCalls: 100,
      maxSockets: 116,
      breaker: { failureRatio: 0.5, windowMs: 30000, minCalls: 10, openMs: 15000 },
      readyProbe: { cacheMs: 15000, failuresBeforeDown: 3, required: true },
      reloadMs: 5000,
    });
    expect(cfg.idempotency).toEqual({ ttlMs: 3600000, maxKeys: 100000 });
    expect(cfg.redis).toEqual({ keyPrefix: 'dify-gateway:' });
    expect(cfg.database).toEqual({ kind: 'pglite', pgliteDir: './data/pglite', migrationsDir: defaultMigrationsDir() });
    expect('url' in cfg.database).toBe(false);
    expect(cfg.audit).toEqual({
      storeText: false,
      signingKeys: [],
      retentionDays: 0,
      checkpointIntervalMs: 60000,
      batch: { maxSize: 256, maxWaitMs: 0 },
      writeTimeoutMs: 5000,
      seal: { intervalMs: 100, batchSize: 5000, maxLagMs: 60000 },
    });
  });

  it('maps every variable into the typed config', () => {
    const cfg = loadGatewayConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'DEBUG',
      LOG_FORMAT: 'text',
      SHUTDOWN_DRAIN_MS: '0',
      TRUST_PROXY: 'yes',
      DIFY_BASE_URL: 'http://localhost:5001/v1/',
      DIFY_API_KEY: CANARY,
      DIFY_ALLOW_INSECURE_HTTP: '1',
      DIFY_CONNECT_TIMEOUT_MS: '1000',
      DIFY_FIRST_BYTE_TIMEOUT_MS: '2000',
      DIFY_STREAM_IDLE_TIMEOUT_MS: '30000',
      DIFY_MAX_CALL_MS: '40000',
      DIFY_MAX_RETRIES: '0',
      DIFY_RETRY_BASE_DELAY_MS: '50',
      DIFY_RETRY_MAX_DELAY_MS: '500',
      DIFY_RETRY_AFTER_MAX_MS: '0',
      DIFY_READY_CACHE_MS: '1000',
      DIFY_READY_FAILURES: '1',
      DIFY_READY_REQUIRED: 'false',
      PGLITE_DIR: 'memory://',
      MIGRATIONS_DIR: dir,
      AUDIT_STORE_TEXT: 'TRUE',
    });
    expect(cfg.app).toEqual({ port: 8080, host: '127.0.0.1', logLevel: 'debug', logJson: false, shutdownDrainMs: 0, trustProxy: true });
    expect(cfg.dify.apps.default?.baseUrl).toBe('http://localhost:5001/v1');
    expect(cfg.dify.allowInsecureHttp).toBe(true);
    expect(cfg.dify.timeouts).toEqual({ connectMs: 1000, firstByteMs: 2000, streamIdleMs: 30000, maxCallMs: 40000 });
    expect(cfg.dify.retry).toEqual({ maxRetries: 0, baseDelayMs: 50, maxDelayMs: 500, maxRetryAfterMs: 0 });
    expect(cfg.dify.readyProbe).toEqual({ cacheMs: 1000, failuresBeforeDown: 1, required: false });
    expect(cfg.database).toEqual({ kind: 'pglite', pgliteDir: 'memory://', migrationsDir: dir });
    expect(cfg.audit.storeText).toBe(true);
  });

  it('is pure: it reads the env it is given, not process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = 'not-a-port';
    try {
      expect(loadGatewayConfig({ DIFY_API_KEY: CANARY }).app.port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('returns a deeply frozen config', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.dify.timeouts)).toBe(true);
    expect(Object.isFrozen(cfg.dify.apps)).toBe(true);
    expect(() => {
      (cfg.app as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('keeps apps free of inherited names (apps["toString"] is undefined)', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY });
    expect(cfg.dify.apps['toString']).toBeUndefined();
    expect(cfg.dify.apps['constructor']).toBeUndefined();
  });

  describe('secrets never printed', () => {
    it('keeps the canary out of JSON, inspect, String and describeConfig', () => {
      const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY, DATABASE_URL: DB_CANARY });
      for (const output of renderings(cfg)) expect(output).not.toMatch(/canary/i);
      expect(describeConfig(cfg)).toContain('…89ab');
      expect(describeConfig(cfg)).toContain('postgres postgresql://***@db.internal:5432/gw');
    });

    it('keeps the canary out of every error message', () => {
      const errors = [
        failure({ DIFY_API_KEY: `${CANARY} x`, PORT: CANARY }),
        failure({ DIFY_API_KEY: CANARY, DIFY_API_KEY_FILE: file('dup', CANARY) }),
        failure({ DIFY_API_KEY_FILE: CANARY }),
        failure({ DIFY_API_KEY: CANARY, DATABASE_URL: `mysql://u:${CANARY}@h/db` }),
        failure({ DIFY_API_KEY: CANARY, DIFY_BASE_URL: `https://u:${CANARY}@h/v1` }),
        failure({ DIFY_APPS_FILE: file('broken.json', `{"apps": {"a": {"apiKey": "${CANARY}"`) }),
        failure({ DIFY_APPS_FILE: appsFile('inline.json', { apps: { a: { apiKey: CANARY } } }) }),
        failure({ DIFY_APPS_FILE: appsFile('bad-alias.json', { apps: { [CANARY]: { apiKeyEnv: 'X' } } }) }),
        failure({ DIFY_APPS_FILE: appsFile('bad-env.json', { apps: { a: { apiKeyEnv: CANARY } } }) }),
        failure({ DIFY_APPS_FILE: appsFile('key-as-file.json', { apps: { a: { apiKeyFile: CANARY } } }) }),
      ];
      for (const error of errors) {
        expect(error.message).not.toMatch(/canary/i);
        expect(inspect(error)).not.toMatch(/canary/i);
      }
    });
  });

  describe('DIFY_API_KEY_FILE', () => {
    it('reads the key from a file, trimmed', () => {
      const cfg = loadGatewayConfig({ DIFY_API_KEY_FILE: file('key', `  ${CANARY}\n`) });
      expect(cfg.dify.apps.default?.apiKey.reveal()).toBe(CANARY);
    });

    it('names the variable (only once) when the file is missing', () => {
      const path = join(dir, 'no-such-key');
      const error = failure({ DIFY_API_KEY_FILE: path });
      expect(error.variables).toEqual(['DIFY_API_KEY_FILE']);
      expect(error.message).toBe(`Invalid configuration: DIFY_API_KEY_FILE (file ${path} does not exist)`);
    });

    it('refuses DIFY_API_KEY and DIFY_API_KEY_FILE together', () => {
      const error = failure({ DIFY_API_KEY: CANARY, DIFY_API_KEY_FILE: file('key2', CANARY) });
      expect([...error.variables].sort()).toEqual(['DIFY_API_KEY', 'DIFY_API_KEY_FILE']);
    });

    it('reads DATABASE_URL_FILE too', () => {
      const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY, DATABASE_URL_FILE: file('db', `${DB_CANARY}\n`) });
      expect(cfg.database.kind).toBe('postgres');
      expect(cfg.database.url?.reveal()).toBe(DB_CANARY);
    });
  });

  describe('DIFY_APPS_FILE', () => {
    it('loads two aliases, one keyed by file and one by env var', () => {
      const keyFile = file('support.key', `${CANARY}\n`);
      const path = appsFile('apps.json', {
        apps: {
          support: { apiKeyFile: keyFile },
          billing: { apiKeyEnv: 'BILLING_DIFY_KEY', baseUrl: 'https://dify.internal.example/v1/' },
        },
        default: 'billing',
      });
      const cfg = loadGatewayConfig({ DIFY_APPS_FILE: path, BILLING_DIFY_KEY: CANARY2 });
      expect(Object.keys(cfg.dify.apps).sort()).toEqual(['billing', 'support']);
      expect(cfg.dify.apps.support).toEqual({ alias: 'support', baseUrl: 'https://api.dify.ai/v1', apiKey: expect.any(Secret) });
      expect(cfg.dify.apps.support?.apiKey.reveal()).toBe(CANARY);
      expect(cfg.dify.apps.billing?.baseUrl).toBe('https://dify.internal.example/v1');
      expect(cfg.dify.apps.billing?.apiKey.reveal()).toBe(CANARY2);
      expect(cfg.dify.defaultApp).toBe('billing');
      for (const output of renderings(cfg)) expect(output).not.toMatch(/canary/i);
    });

    it('resolves a relative apiKeyFile against the apps file folder', () => {
      mkdirSync(join(dir, 'nested', 'keys'), { recursive: true });
      file(join('nested', 'keys', 'a.key'), CANARY);
      const path = appsFile(join('nested', 'apps.json'), { apps: { a: { apiKeyFile: './keys/a.key' } } });
      const cfg = loadGatewayConfig({ DIFY_APPS_FILE: path });
      expect(cfg.dify.apps.a?.apiKey.reveal()).toBe(CANARY);
      expect(cfg.dify.defaultApp).toBe('a');
    });

    it('adds DIFY_API_KEY as alias "default", the default app unless the file names another', () => {
      const path = appsFile('with-env.json', { apps: { billing: { apiKeyEnv: 'BILLING_DIFY_KEY' } } });
      const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY, DIFY_APPS_FILE: path, BILLING_DIFY_KEY: CANARY2 });
      expect(Object.keys(cfg.dify.apps).sort()).toEqual(['billing', 'default']);
      expect(cfg.dify.defaultApp).toBe('default');

      const named = appsFile('with-env-default.json', {
        apps: { billing: { apiKeyEnv: 'BILLING_DIFY_KEY' } },
        default: 'billing',
      });
      expect(loadGatewayConfig({ DIFY_API_KEY: CANARY, DIFY_APPS_FILE: named, BILLING_DIFY_KEY: CANARY2 }).dify.defaultApp).toBe('billing');
    });

    it('refuses an app "default" in the file when DIFY_API_KEY also defines it', () => {
      const path = appsFile('clash.json', { apps: { default: { apiKeyEnv: 'OTHER_KEY' } } });
      const error = failure({ DIFY_API_KEY: CANARY, DIFY_APPS_FILE: path, OTHER_KEY: CANARY2 });
      expect([...error.variables].sort()).toEqual(['DIFY_API_KEY', 'DIFY_APPS_FILE']);
      expect(error.message).toContain('app "default" is also configured by DIFY_API_KEY');
    });

    it('requires "default" when the file alone defines several apps', () => {
      const path = appsFile('two.json', { apps: { a: { apiKeyEnv: 'A_KEY' }, b: { apiKeyEnv: 'B_KEY' } } });
      const error = failure({ DIFY_APPS_FILE: path, A_KEY: CANARY, B_KEY: CANARY2 });
      expect(error.message).toBe(`Invalid configuration: DIFY_APPS_FILE (${path}: set "default" to one of the 2 apps)`);
    });

    it('names the file and alias of every bad app at once', () => {
      const path = appsFile('bad.json', {
        apps: {
          nokey: {},
          both: { apiKeyEnv: 'A_KEY', apiKeyFile: '/x' },
          unset: { apiKeyEnv: 'NOT_SET_ANYWHERE' },
          missing: { apiKeyFile: join(dir, 'absent.key') },
          plain: { apiKeyEnv: 'A_KEY', baseUrl: 'http://dify.internal/v1' },
          typo: { apiKeyEnv: 'A_KEY', baseUrl2: 'x' },
          Upper: { apiKeyEnv: 'A_KEY' },
        },
        default: 'ghost',
        extra: true,
      });
      const error = failure({ DIFY_APPS_FILE: path, A_KEY: CANARY });
      expect(error.variables).toEqual(['DIFY_APPS_FILE']);
      for (const part of [
        `${path}: unknown top-level field`,
        'app "nokey" must set exactly one of apiKeyFile and apiKeyEnv',
        'app "both" must set exactly one of apiKeyFile and apiKeyEnv',
        'app "unset": apiKeyEnv NOT_SET_ANYWHERE is not set',
        `app "missing": apiKeyFile: file ${join(dir, 'absent.key')} does not exist`,
        'app "plain": baseUrl must be an https:// URL; set DIFY_ALLOW_INSECURE_HTTP=true for plain http',
        'app "typo" has an unknown field',
        'app #7 has an invalid alias',
        '"default" names app "ghost", which is not defined',
      ]) {
        expect(error.message).toContain(part);
      }
      expect(error.message).not.toMatch(/canary/i);
    });

    it('accepts an http:// app baseUrl with DIFY_ALLOW_INSECURE_HTTP=true', () => {
      const path = appsFile('http.json', { apps: { local: { apiKeyEnv: 'A_KEY', baseUrl: 'http://127.0.0.1:5001/v1' } } });
      expect(failure({ DIFY_APPS_FILE: path, A_KEY: CANARY }).variables).toEqual(['DIFY_APPS_FILE']);
      const cfg = loadGatewayConfig({ DIFY_APPS_FILE: path, A_KEY: CANARY, DIFY_ALLOW_INSECURE_HTTP: 'true' });
      expect(cfg.dify.apps.local?.baseUrl).toBe('http://127.0.0.1:5001/v1');
    });

    it('reports an unreadable, invalid or empty apps file', () => {
      expect(failure({ DIFY_APPS_FILE: join(dir, 'nope.json') }).message).toContain('does not exist');
      expect(failure({ DIFY_APPS_FILE: file('not-json.json', '{ apps: ') }).message).toContain('is not valid JSON');
      expect(failure({ DIFY_APPS_FILE: appsFile('array.json', []) }).message).toContain('must be a JSON object');
      expect(failure({ DIFY_APPS_FILE: appsFile('empty.json', { apps: {} }) }).message).toContain('at least one app');
    });

    it('combines apps file problems with variable problems in one error', () => {
      const error = failure({ PORT: '-1', DIFY_APPS_FILE: join(dir, 'nope.json'), LOG_FORMAT: 'xml' });
      expect(error.variables).toEqual(['PORT', 'LOG_FORMAT', 'DIFY_APPS_FILE']);
    });
  });

  describe('DIFY_BASE_URL', () => {
    it('refuses http:// without the flag and accepts it with DIFY_ALLOW_INSECURE_HTTP=true', () => {
      const env = { DIFY_API_KEY: CANARY, DIFY_BASE_URL: 'http://dify.internal/v1' };
      expect(failure(env).message).toBe('Invalid configuration: DIFY_BASE_URL (must be an https:// URL; set DIFY_ALLOW_INSECURE_HTTP=true for plain http)');
      expect(loadGatewayConfig({ ...env, DIFY_ALLOW_INSECURE_HTTP: 'true' }).dify.apps.default?.baseUrl).toBe('http://dify.internal/v1');
    });
  });

  it('refuses DIFY_STREAM_IDLE_TIMEOUT_MS below 10001', () => {
    expect(failure({ DIFY_API_KEY: CANARY, DIFY_STREAM_IDLE_TIMEOUT_MS: '5000' }).variables).toEqual(['DIFY_STREAM_IDLE_TIMEOUT_MS']);
    expect(loadGatewayConfig({ DIFY_API_KEY: CANARY, DIFY_STREAM_IDLE_TIMEOUT_MS: '10001' }).dify.timeouts.streamIdleMs).toBe(10001);
  });

  describe('database', () => {
    it.each([
      ['postgresql://u:p@db:5432/gw', 'postgres'],
      ['postgres://db/gw', 'postgres'],
      [undefined, 'pglite'],
      ['', 'pglite'],
    ])('DATABASE_URL=%p gives kind %p', (url, kind) => {
      const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY, DATABASE_URL: url });
      expect(cfg.database.kind).toBe(kind);
      expect(cfg.database.url?.reveal()).toBe(url || undefined);
    });

    it('refuses a non-postgres DATABASE_URL', () => {
      expect(failure({ DIFY_API_KEY: CANARY, DATABASE_URL: 'sqlite:///tmp/x.db' }).variables).toEqual(['DATABASE_URL']);
    });

    it('resolves the default MIGRATIONS_DIR to an existing prisma/migrations folder', () => {
      const { migrationsDir } = loadGatewayConfig({ DIFY_API_KEY: CANARY }).database;
      expect(migrationsDir.endsWith(`${sep}prisma${sep}migrations`)).toBe(true);
      expect(existsSync(migrationsDir) && statSync(migrationsDir).isDirectory()).toBe(true);
    });

    it('refuses a MIGRATIONS_DIR that does not exist', () => {
      expect(failure({ DIFY_API_KEY: CANARY, MIGRATIONS_DIR: join(dir, 'none') }).variables).toEqual(['MIGRATIONS_DIR']);
    });
  });
});
