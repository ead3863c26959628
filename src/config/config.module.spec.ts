import { ConfigService, type ConfigType } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { appConfig, auditConfig, databaseConfig, difyConfig } from './config-namespaces.js';
import { GatewayConfigModule } from './config.module.js';
import { ConfigValidationError, ENV_VARIABLES } from './env.schema.js';
import { gatewayConfig, resetGatewayConfigForTests } from './gateway-config.js';
import { Secret } from './secret.js';

const CANARY = 'app-CANARYcanary0123456789ab';

/**
 * The module reads process.env, so these tests set it. Every gateway variable is saved, cleared
 * before each test and restored after it (together with the cached config).
 */
describe('GatewayConfigModule', () => {
  let saved: Record<string, string | undefined>;

  beforeEach(() => {
    saved = Object.fromEntries(ENV_VARIABLES.map((name) => [name, process.env[name]]));
    for (const name of ENV_VARIABLES) delete process.env[name];
    resetGatewayConfigForTests();
  });

  afterEach(() => {
    for (const name of ENV_VARIABLES) {
      const value = saved[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetGatewayConfigForTests();
  });

  it('refuses to build with an invalid environment, naming every bad variable', async () => {
    process.env.PORT = 'eighty';
    process.env.DIFY_BASE_URL = `https://user:${CANARY}@dify.example.com/v1`;
    process.env.DIFY_STREAM_IDLE_TIMEOUT_MS = '10000';

    const compiling = Test.createTestingModule({ imports: [GatewayConfigModule] }).compile();
    await expect(compiling).rejects.toBeInstanceOf(ConfigValidationError);
    const error = (await compiling.catch((e: unknown) => e)) as ConfigValidationError;
    expect(error.variables).toEqual(['PORT', 'DIFY_BASE_URL', 'DIFY_API_KEY', 'DIFY_STREAM_IDLE_TIMEOUT_MS']);
    expect(error.message).not.toMatch(/canary/i);
  });

  it('provides the typed namespaces globally', async () => {
    process.env.DIFY_API_KEY = CANARY;
    process.env.PORT = '4000';
    process.env.DIFY_READY_REQUIRED = 'no';

    const moduleRef = await Test.createTestingModule({ imports: [GatewayConfigModule] }).compile();
    try {
      const dify = moduleRef.get<ConfigType<typeof difyConfig>>(difyConfig.KEY);
      expect(dify.defaultApp).toBe('default');
      expect(dify.apps.default?.apiKey).toBeInstanceOf(Secret);
      expect(dify.apps.default?.apiKey.reveal()).toBe(CANARY);
      expect(dify.readyProbe.required).toBe(false);
      expect(moduleRef.get<ConfigType<typeof appConfig>>(appConfig.KEY).port).toBe(4000);
      expect(moduleRef.get<ConfigType<typeof databaseConfig>>(databaseConfig.KEY).kind).toBe('pglite');
      expect(moduleRef.get<ConfigType<typeof auditConfig>>(auditConfig.KEY).storeText).toBe(false);

      // Every namespace is a slice of the one memoized config.
      expect(dify).toBe(gatewayConfig().dify);

      const service = moduleRef.get(ConfigService);
      expect(service.get<string>('dify.defaultApp')).toBe('default');
      // No fall-through to raw process.env: consumers use the namespaces.
      expect(service.get('DIFY_API_KEY')).toBeUndefined();
      expect(service.get('PATH')).toBeUndefined();
    } finally {
      await moduleRef.close();
    }
  });
});
