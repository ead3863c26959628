import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { describeConfig } from './describe-config.js';
import { ConfigValidationError } from './env.schema.js';
import { loadGatewayConfig } from './gateway-config.js';

const DIFY = 'app-CANARYcanary0123456789ab';
const KEY = 'CANARYsigning-0123456789abcdef0123456789';
const OLD_KEY = 'CANARYretired-0123456789abcdef0123456789';
const dir = mkdtempSync(join(tmpdir(), 'gw-audit-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function problem(env: Record<string, string>): string {
  try {
    loadGatewayConfig({ DIFY_API_KEY: DIFY, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigValidationError');
}

describe('audit configuration', () => {
  it('maps every audit variable', () => {
    const cfg = loadGatewayConfig({
      DIFY_API_KEY: DIFY,
      AUDIT_SIGNING_KEY_FILE: file('keys', `# current first\n${KEY}\n\n${OLD_KEY}\n`),
      AUDIT_RETENTION_DAYS: '365',
      AUDIT_CHECKPOINT_INTERVAL_MS: '5000',
      AUDIT_BATCH_MAX_SIZE: '64',
      AUDIT_BATCH_MAX_WAIT_MS: '2',
      AUDIT_WRITE_TIMEOUT_MS: '1500',
      AUDIT_STORE_TEXT: 'true',
    });
    expect(cfg.audit.signingKeys.map((k) => k.reveal())).toEqual([KEY, OLD_KEY]);
    expect(cfg.audit).toMatchObject({
      storeText: true,
      retentionDays: 365,
      checkpointIntervalMs: 5000,
      batch: { maxSize: 64, maxWaitMs: 2 },
      writeTimeoutMs: 1500,
    });
  });

  it('never prints a signing key', () => {
    const cfg = loadGatewayConfig({ DIFY_API_KEY: DIFY, AUDIT_SIGNING_KEY_FILE: file('one', KEY) });
    const printed = [JSON.stringify(cfg), inspect(cfg, { depth: 10, showHidden: true }), describeConfig(cfg)].join('\n');
    expect(printed).not.toContain('CANARYsigning');
    expect(describeConfig(cfg)).toContain('audit.signing=on(1 key)');
    expect(describeConfig(loadGatewayConfig({ DIFY_API_KEY: DIFY }))).toContain('audit.signing=off');
  });

  it('names the variable and the path, never the content, when the key file is unusable', () => {
    expect(problem({ AUDIT_SIGNING_KEY_FILE: join(dir, 'missing') })).toMatch(/AUDIT_SIGNING_KEY_FILE \(file .*missing does not exist\)/);
    expect(problem({ AUDIT_SIGNING_KEY_FILE: file('empty', '# nothing\n\n') })).toMatch(/holds no key/);
    const short = problem({ AUDIT_SIGNING_KEY_FILE: file('short', 'CANARYshort\n') });
    expect(short).toMatch(/at least 32 characters/);
    expect(short).not.toContain('CANARYshort');
  });

  it('checks the numbers', () => {
    const message = problem({
      AUDIT_RETENTION_DAYS: '-1',
      AUDIT_BATCH_MAX_SIZE: '0',
      AUDIT_BATCH_MAX_WAIT_MS: '5000',
      AUDIT_WRITE_TIMEOUT_MS: '10',
      AUDIT_CHECKPOINT_INTERVAL_MS: 'soon',
    });
    for (const name of ['AUDIT_RETENTION_DAYS', 'AUDIT_BATCH_MAX_SIZE', 'AUDIT_BATCH_MAX_WAIT_MS', 'AUDIT_WRITE_TIMEOUT_MS', 'AUDIT_CHECKPOINT_INTERVAL_MS']) {
      expect(message).toContain(name);
    }
  });
});
