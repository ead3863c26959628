import { describe, expect, it } from '@jest/globals';
import { describeConfig } from './describe-config.js';
import { ConfigValidationError } from './env.schema.js';
import { loadGatewayConfig } from './gateway-config.js';

const base = { DIFY_API_KEY: 'app-0123456789abcdefghij' };

describe('tracing config (OTEL_EXPORTER_OTLP_*)', () => {
  it('is off without an endpoint, and says so in the boot summary', () => {
    const cfg = loadGatewayConfig(base);
    expect(cfg.tracing).toEqual({ enabled: false });
    expect(describeConfig(cfg)).toContain('tracing=off');
  });

  it('is on with either endpoint; the traces endpoint wins', () => {
    expect(loadGatewayConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      enabled: true,
      endpoint: 'http://collector:4318',
    });
    const both = loadGatewayConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/v1/traces' });
    expect(both.tracing).toEqual({ enabled: true, endpoint: 'https://b/v1/traces' });
  });

  it('stays off with OTEL_SDK_DISABLED=true', () => {
    expect(loadGatewayConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing.enabled).toBe(false);
  });

  it('refuses an endpoint that is not an http(s) URL, naming the variable and not the value', () => {
    let error: unknown;
    try {
      loadGatewayConfig({ ...base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4317-CANARY' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).variables).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
    expect((error as Error).message).not.toContain('CANARY');
  });

  it('prints the endpoint without user info or query in the boot summary', () => {
    const cfg = loadGatewayConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:CANARYpw@collector:4318/otlp?token=CANARYtok' });
    const summary = describeConfig(cfg);
    expect(summary).toContain('tracing=otlp https://***@collector:4318/otlp');
    expect(summary).not.toContain('CANARY');
  });
});
