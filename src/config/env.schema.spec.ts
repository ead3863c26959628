import { describe, expect, it } from '@jest/globals';
import { ConfigValidationError, defaultMigrationsDir, ENV_VARIABLES, parseBoolean, parseInteger, validateEnvironment } from './env.schema.js';
import { Secret } from './secret.js';

const CANARY = 'app-CANARYcanary0123456789ab';

function failure(raw: Record<string, string | undefined>): ConfigValidationError {
  try {
    validateEnvironment(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return error as ConfigValidationError;
  }
  throw new Error('expected a ConfigValidationError');
}

describe('env.schema', () => {
  it('applies every default', () => {
    const env = validateEnvironment({ DIFY_API_KEY: CANARY });
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      SHUTDOWN_DRAIN_MS: 15000,
      TRUST_PROXY: false,
      DIFY_BASE_URL: 'https://api.dify.ai/v1',
      DIFY_APPS_FILE: undefined,
      DIFY_ALLOW_INSECURE_HTTP: false,
      DIFY_CONNECT_TIMEOUT_MS: 5000,
      DIFY_FIRST_BYTE_TIMEOUT_MS: 120000,
      DIFY_STREAM_IDLE_TIMEOUT_MS: 60000,
      DIFY_MAX_CALL_MS: 1200000,
      DIFY_MAX_RETRIES: 2,
      DIFY_RETRY_BASE_DELAY_MS: 200,
      DIFY_RETRY_MAX_DELAY_MS: 5000,
      DIFY_RETRY_AFTER_MAX_MS: 10000,
      DIFY_MAX_CONCURRENT_CALLS: 100,
      DIFY_BREAKER_FAILURE_PERCENT: 50,
      DIFY_BREAKER_WINDOW_MS: 30000,
      DIFY_BREAKER_MIN_CALLS: 10,
      DIFY_BREAKER_OPEN_MS: 15000,
      DIFY_READY_CACHE_MS: 15000,
      DIFY_READY_FAILURES: 3,
      DIFY_READY_REQUIRED: true,
      DATABASE_URL: undefined,
      PGLITE_DIR: './data/pglite',
      MIGRATIONS_DIR: defaultMigrationsDir(),
      AUDIT_STORE_TEXT: false,
      IDEMPOTENCY_TTL_MS: 3600000,
      IDEMPOTENCY_MAX_KEYS: 100000,
      REDIS_URL: undefined,
    });
    expect(env.DIFY_API_KEY).toBeInstanceOf(Secret);
    expect(env.DIFY_API_KEY?.reveal()).toBe(CANARY);
  });

  it('ignores unrelated variables and treats empty values as unset', () => {
    const env = validateEnvironment({ DIFY_API_KEY: CANARY, PATH: '/bin', PORT: '', LOG_LEVEL: '  ' });
    expect(env.PORT).toBe(3000);
    expect(env.LOG_LEVEL).toBe('log');
    expect(Object.keys(env)).not.toContain('PATH');
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['Yes', true],
    [' false ', false],
    ['0', false],
    ['NO', false],
  ])('parses boolean %p', (text, value) => {
    expect(parseBoolean(text)).toBe(value);
    expect(validateEnvironment({ DIFY_API_KEY: CANARY, TRUST_PROXY: text }).TRUST_PROXY).toBe(value);
  });

  it.each(['on', 'off', 'y', 'truthy', '2'])('refuses boolean %p, naming the variable', (text) => {
    const error = failure({ DIFY_API_KEY: CANARY, AUDIT_STORE_TEXT: text });
    expect(error.variables).toEqual(['AUDIT_STORE_TEXT']);
    expect(error.message).toBe('Invalid configuration: AUDIT_STORE_TEXT (must be true, false, 1, 0, yes or no)');
  });

  it.each(['1.5', '1e3', '15_000', '10s', '0x10', 'NaN', '99999999999999999999'])('refuses integer %p', (text) => {
    expect(parseInteger(text)).toBe(text);
    expect(failure({ DIFY_API_KEY: CANARY, SHUTDOWN_DRAIN_MS: text }).variables).toEqual(['SHUTDOWN_DRAIN_MS']);
  });

  it('refuses out-of-range integers', () => {
    expect(failure({ DIFY_API_KEY: CANARY, PORT: '0' }).message).toBe('Invalid configuration: PORT (must be an integer between 1 and 65535)');
    expect(failure({ DIFY_API_KEY: CANARY, PORT: '65536' }).variables).toEqual(['PORT']);
    expect(failure({ DIFY_API_KEY: CANARY, DIFY_MAX_RETRIES: '-1' }).variables).toEqual(['DIFY_MAX_RETRIES']);
    expect(validateEnvironment({ DIFY_API_KEY: CANARY, PORT: ' 8080 ' }).PORT).toBe(8080);
  });

  it('refuses a stream idle timeout of 10 s or less (Dify pings every 10 s)', () => {
    expect(failure({ DIFY_API_KEY: CANARY, DIFY_STREAM_IDLE_TIMEOUT_MS: '10000' }).variables).toEqual(['DIFY_STREAM_IDLE_TIMEOUT_MS']);
    expect(validateEnvironment({ DIFY_API_KEY: CANARY, DIFY_STREAM_IDLE_TIMEOUT_MS: '10001' }).DIFY_STREAM_IDLE_TIMEOUT_MS).toBe(10001);
  });

  it('checks that related limits are consistent', () => {
    const error = failure({
      DIFY_API_KEY: CANARY,
      DIFY_RETRY_BASE_DELAY_MS: '6000',
      DIFY_RETRY_MAX_DELAY_MS: '5000',
      DIFY_FIRST_BYTE_TIMEOUT_MS: '60000',
      DIFY_MAX_CALL_MS: '30000',
    });
    expect(error.message).toBe(
      'Invalid configuration: DIFY_FIRST_BYTE_TIMEOUT_MS (must not exceed DIFY_MAX_CALL_MS), ' +
        'DIFY_RETRY_BASE_DELAY_MS (must not exceed DIFY_RETRY_MAX_DELAY_MS)',
    );
  });

  describe('DIFY_BASE_URL', () => {
    it('trims trailing slashes', () => {
      expect(validateEnvironment({ DIFY_API_KEY: CANARY, DIFY_BASE_URL: 'https://dify.example.com/v1//' }).DIFY_BASE_URL).toBe('https://dify.example.com/v1');
      expect(validateEnvironment({ DIFY_API_KEY: CANARY, DIFY_BASE_URL: 'https://dify.example.com' }).DIFY_BASE_URL).toBe('https://dify.example.com');
    });

    it('refuses http:// without DIFY_ALLOW_INSECURE_HTTP and accepts it with the flag', () => {
      expect(failure({ DIFY_API_KEY: CANARY, DIFY_BASE_URL: 'http://127.0.0.1:5001/v1' }).message).toBe(
        'Invalid configuration: DIFY_BASE_URL (must be an https:// URL; set DIFY_ALLOW_INSECURE_HTTP=true for plain http)',
      );
      const env = validateEnvironment({
        DIFY_API_KEY: CANARY,
        DIFY_BASE_URL: 'http://127.0.0.1:5001/v1/',
        DIFY_ALLOW_INSECURE_HTTP: 'true',
      });
      expect(env.DIFY_BASE_URL).toBe('http://127.0.0.1:5001/v1');
    });

    it.each([
      ['api.dify.ai/v1', 'must be an absolute http(s) URL'],
      ['ftp://dify.example.com/v1', 'must be an absolute http(s) URL'],
      ['https://user:CANARYpw@dify.example.com/v1', 'must not contain credentials'],
      ['https://dify.example.com/v1?key=CANARY', 'must not contain a query or fragment'],
      ['https://dify.example.com/v1#CANARY', 'must not contain a query or fragment'],
    ])('refuses %p without echoing it', (url, reason) => {
      const error = failure({ DIFY_API_KEY: CANARY, DIFY_BASE_URL: url });
      expect(error.message).toBe(`Invalid configuration: DIFY_BASE_URL (${reason})`);
    });
  });

  it('requires DIFY_API_KEY unless DIFY_APPS_FILE is set', () => {
    expect(failure({}).message).toBe('Invalid configuration: DIFY_API_KEY (required: set DIFY_API_KEY, DIFY_API_KEY_FILE or DIFY_APPS_FILE)');
    expect(validateEnvironment({ DIFY_APPS_FILE: '/etc/apps.json' }).DIFY_API_KEY).toBeUndefined();
  });

  it('refuses the .env.example placeholder and keys with spaces', () => {
    expect(failure({ DIFY_API_KEY: 'app-REPLACE_ME' }).message).toContain('placeholder');
    expect(failure({ DIFY_API_KEY: 'app-CANARY with space' }).variables).toEqual(['DIFY_API_KEY']);
  });

  it('detects postgres URLs and refuses other schemes', () => {
    const env = validateEnvironment({ DIFY_API_KEY: CANARY, DATABASE_URL: 'postgres://u:p@db:5432/gw' });
    expect(env.DATABASE_URL).toBeInstanceOf(Secret);
    expect(validateEnvironment({ DIFY_API_KEY: CANARY, DATABASE_URL: 'postgresql://db/gw' }).DATABASE_URL?.reveal()).toBe('postgresql://db/gw');
    const error = failure({ DIFY_API_KEY: CANARY, DATABASE_URL: 'mysql://u:CANARYpw@db/gw' });
    expect(error.message).toBe('Invalid configuration: DATABASE_URL (must be a postgresql:// or postgres:// URL)');
  });

  it('names every bad variable in one error, in documentation order, without any value', () => {
    const bad: Record<string, string> = {
      PORT: 'CANARY-port',
      HOST: 'CANARY host',
      LOG_LEVEL: 'CANARY-level',
      LOG_FORMAT: 'CANARY-format',
      SHUTDOWN_DRAIN_MS: 'CANARY-ms',
      TRUST_PROXY: 'CANARY-bool',
      DIFY_BASE_URL: 'CANARY-url',
      DIFY_API_KEY: `${CANARY} with spaces`,
      DIFY_ALLOW_INSECURE_HTTP: 'CANARY-bool',
      DIFY_CONNECT_TIMEOUT_MS: '0',
      DIFY_FIRST_BYTE_TIMEOUT_MS: '1.5',
      DIFY_STREAM_IDLE_TIMEOUT_MS: '10000',
      DIFY_MAX_CALL_MS: 'CANARY',
      DIFY_MAX_RETRIES: '11',
      DIFY_RETRY_BASE_DELAY_MS: '-1',
      DIFY_RETRY_MAX_DELAY_MS: '600001',
      DIFY_RETRY_AFTER_MAX_MS: 'x',
      DIFY_MAX_CONCURRENT_CALLS: '0',
      DIFY_BREAKER_FAILURE_PERCENT: '100',
      DIFY_BREAKER_WINDOW_MS: '999',
      DIFY_BREAKER_MIN_CALLS: 'CANARY',
      DIFY_BREAKER_OPEN_MS: '99',
      DIFY_READY_CACHE_MS: 'x',
      DIFY_READY_FAILURES: '0',
      DIFY_READY_REQUIRED: 'CANARY-bool',
      DATABASE_URL: 'mysql://CANARY',
      MIGRATIONS_DIR: '/nonexistent/CANARY/migrations',
      AUDIT_STORE_TEXT: 'CANARY-bool',
      IDEMPOTENCY_TTL_MS: '999',
      IDEMPOTENCY_MAX_KEYS: 'CANARY',
      REDIS_URL: 'http://CANARY:pw@redis',
    };
    const error = failure(bad);
    expect(error.variables).toEqual(Object.keys(bad));
    expect(error.variables).toEqual(ENV_VARIABLES.filter((name) => name in bad));
    expect(error.message).not.toMatch(/canary/i);
    for (const name of Object.keys(bad)) expect(error.message).toMatch(new RegExp(`\\b${name} \\(`));
  });
});
