import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectSinks } from './audit-sinks.js';

const KEY = 'hmac-key-0123456789abcdef';

describe('collectSinks', () => {
  it('reads several sinks with their secrets from the environment or files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sinks-'));
    writeFileSync(path.join(dir, 'token'), 'splunk-token-0123456789\n');
    const { config, issues } = collectSinks({
      AUDIT_SINKS: JSON.stringify([
        { name: 'hec', type: 'splunk', url: 'https://splunk.example:8088/services/collector/event', index: 'audit' },
        { name: 'soc-hook', type: 'webhook', url: 'http://127.0.0.1:9000/in', batch_size: 50 },
        { name: 'rsyslog', type: 'syslog', host: 'logs.example', port: 6514 },
      ]),
      AUDIT_SINK_HEC_HMAC_KEY: KEY,
      AUDIT_SINK_HEC_TOKEN_FILE: path.join(dir, 'token'),
      AUDIT_SINK_SOC_HOOK_HMAC_KEY: KEY,
      AUDIT_SINK_RSYSLOG_HMAC_KEY: KEY,
    });
    expect(issues).toEqual([]);
    expect(config.sinks.map((s) => [s.name, s.type, s.batchSize])).toEqual([
      ['hec', 'splunk', 500],
      ['soc-hook', 'webhook', 50],
      ['rsyslog', 'syslog', 500],
    ]);
    const hec = config.sinks[0];
    expect(hec.type === 'splunk' && hec.token?.reveal()).toBe('splunk-token-0123456789');
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(config.alerts).toMatchObject({ sinkLagEvents: 10_000, keyExpiryDays: 7 });
  });

  it('names every problem without any value', () => {
    const { issues } = collectSinks({
      AUDIT_SINKS: JSON.stringify([
        { name: 'a', type: 'webhook', url: 'http://siem.example/in' },
        { name: 'B!', type: 'webhook' },
        { name: 'c', type: 'splunk', url: 'https://user:pw@splunk.example/' },
        { name: 'd', type: 'syslog', host: 'x', port: 0 },
        { name: 'a', type: 'fax' },
      ]),
      AUDIT_SINK_A_HMAC_KEY: 'short',
      AUDIT_SINK_D_HMAC_KEY: KEY,
      ALERT_WEBHOOK_URL: 'ftp://x',
    });
    expect(issues.map((i) => `${i.variable}: ${i.reason}`)).toEqual([
      'AUDIT_SINK_A_HMAC_KEY: must be at least 16 characters',
      'AUDIT_SINKS: sink 0: url must be https (http only to a loopback address), without credentials',
      'AUDIT_SINKS: sink 1: name must be 1-32 of a-z 0-9 _ -',
      'AUDIT_SINK_C_HMAC_KEY: required: set AUDIT_SINK_C_HMAC_KEY or AUDIT_SINK_C_HMAC_KEY_FILE',
      'AUDIT_SINKS: sink 2: url must be https (http only to a loopback address), without credentials',
      'AUDIT_SINKS: sink 3: port must be an integer from 1 to 65535',
      'AUDIT_SINKS: sink 4: type must be webhook, splunk or syslog',
      'ALERT_WEBHOOK_URL: must be https (http only to a loopback address), without credentials',
      'ALERT_HMAC_KEY: required: set ALERT_HMAC_KEY or ALERT_HMAC_KEY_FILE',
    ]);
    expect(JSON.stringify(issues)).not.toContain('short');
    expect(collectSinks({ AUDIT_SINKS: '{"name":"x"}' }).issues).toEqual([{ variable: 'AUDIT_SINKS', reason: 'must be a JSON list of sinks' }]);
  });
});
