import { describe, expect, it } from '@jest/globals';
import { describeConfig } from './describe-config.js';
import { loadGatewayConfig } from './gateway-config.js';

const CANARY = 'app-CANARYcanary0123456789ab';

describe('describeConfig', () => {
  it('is one line with keys as …last4', () => {
    const summary = describeConfig(loadGatewayConfig({ DIFY_API_KEY: CANARY }));
    expect(summary).not.toContain('\n');
    expect(summary).toContain('dify.apps=[default=https://api.dify.ai/v1 key=…89ab]');
    expect(summary).toContain('db=pglite ./data/pglite');
    expect(summary).toContain('listen=0.0.0.0:3000');
    expect(summary).not.toMatch(/canary/i);
  });

  it('hides database URL credentials and query parameters', () => {
    const cfg = loadGatewayConfig({
      DIFY_API_KEY: CANARY,
      DATABASE_URL: 'postgresql://gw:CANARYpass@db.internal:6432/audit?password=CANARYq&sslmode=require',
    });
    const summary = describeConfig(cfg);
    expect(summary).toContain('db=postgres postgresql://***@db.internal:6432/audit');
    expect(summary).not.toMatch(/canary/i);
  });

  it('shows *** for keys too short to show four characters', () => {
    expect(describeConfig(loadGatewayConfig({ DIFY_API_KEY: 'app-short' }))).toContain('key=***');
  });

  it('shows Redis without credentials, the dataset key as …last4, and the key settings', () => {
    const summary = describeConfig(
      loadGatewayConfig({
        DIFY_API_KEY: CANARY,
        DIFY_DATASET_API_KEY: 'dataset-CANARYdataset0123wxyz',
        REDIS_URL: 'redis://:CANARYredis@cache.internal:6379/2',
      }),
    );
    expect(summary).toContain('dify.datasets=https://api.dify.ai/v1 key=…wxyz');
    expect(summary).toContain('redis=redis://***@cache.internal:6379/2 prefix=dify-gateway:');
    expect(summary).toContain('keys.defaultLimits(rpm=600 streams=20 dailyTokens=0)');
    expect(summary).not.toMatch(/canary/i);
    expect(describeConfig(loadGatewayConfig({ DIFY_API_KEY: CANARY }))).toContain('redis=off (limits and revocations per process)');
  });
});
