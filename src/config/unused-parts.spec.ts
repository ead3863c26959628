import { describe, expect, it } from '@jest/globals';
import { ConfigValidationError } from './env.schema.js';
import { loadGatewayConfig } from './gateway-config.js';

const CANARY = 'app-CANARYunusedParts0123456';

describe('loadGatewayConfig with unused parts (the CLI, per command)', () => {
  it('without `dify`, no Dify key is required and none is read: no apps, nothing to reload', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY_FILE: '/nonexistent/dify-key', DIFY_KEYS_RELOAD_MS: '5000' }, { unused: ['dify'] });
    expect(Object.keys(cfg.dify.apps)).toEqual([]);
    expect(cfg.dify).toMatchObject({ defaultApp: '', reloadMs: 0 });
    expect(cfg.dify.datasets).toBeUndefined();
  });

  it('a configured Dify key is not even kept when `dify` is unused', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY, DIFY_DATASET_API_KEY: CANARY }, { unused: ['dify'] });
    expect(JSON.stringify(cfg)).not.toContain(CANARY);
    expect(cfg.dify.apps.default).toBeUndefined();
  });

  it('the gateway (no options) still requires a Dify key, and other variables are still checked', () => {
    expect(() => loadGatewayConfig({})).toThrow(/DIFY_API_KEY \(required/);
    const bad = (() => {
      try {
        loadGatewayConfig({ PORT: 'x' }, { unused: ['dify'] });
      } catch (error) {
        return error as ConfigValidationError;
      }
    })();
    expect(bad).toBeInstanceOf(ConfigValidationError);
    expect(bad!.variables).toEqual(['PORT']);
  });

  it('without `redis`, REDIS_URL (and its file) are not read', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY: CANARY, REDIS_URL: 'redis://127.0.0.1:1', REDIS_URL_FILE: '/nonexistent' }, { unused: ['redis'] });
    expect(cfg.redis.url).toBeUndefined();
    expect(cfg.dify.defaultApp).toBe('default');
  });
});
