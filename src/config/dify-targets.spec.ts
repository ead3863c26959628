import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DifyTargets, type DifyTargetChange } from './dify-targets.js';
import { loadGatewayConfig } from './gateway-config.js';

const K1 = 'app-ONEoneONEoneONE01234567';
const K2 = 'app-TWOtwoTWOtwoTWO01234567';
const D1 = 'dataset-ONEoneONEone0123456';

describe('DifyTargets', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-targets-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function targets() {
    writeFileSync(join(dir, 'default.key'), K1);
    writeFileSync(join(dir, 'dataset.key'), D1);
    writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apps: { hr: { apiKeyEnv: 'HR_KEY' } }, default: 'default' }));
    env = {
      DIFY_API_KEY_FILE: join(dir, 'default.key'),
      DIFY_APPS_FILE: join(dir, 'apps.json'),
      HR_KEY: K2,
      DIFY_DATASET_API_KEY_FILE: join(dir, 'dataset.key'),
    };
    return new DifyTargets(loadGatewayConfig(env).dify, () => env);
  }

  it('starts from the config and changes nothing when the files did not change', () => {
    const t = targets();
    expect(t.aliases()).toEqual(['default', 'hr']);
    expect(t.app('default')?.apiKey.reveal()).toBe(K1);
    expect(t.datasetTarget()?.apiKey.reveal()).toBe(D1);
    expect(t.app('toString')).toBeUndefined();
    expect(t.reload()).toEqual([]);
  });

  it('swaps a changed key, reports what changed (never the key) and tells its listeners', () => {
    const t = targets();
    const heard: DifyTargetChange[][] = [];
    t.onChange((c) => heard.push(c));
    const before = t.app('default');
    writeFileSync(join(dir, 'default.key'), K2);
    writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apps: { billing: { apiKeyEnv: 'HR_KEY' } }, default: 'default' }));
    const changes = t.reload();
    expect(changes).toEqual([
      { alias: 'default', change: 'key_changed', keyLast4: K2.slice(-4) },
      { alias: 'billing', change: 'added', keyLast4: K2.slice(-4) },
      { alias: 'hr', change: 'removed', keyLast4: '' },
    ]);
    expect(heard).toEqual([changes]);
    expect(t.app('default')?.apiKey.reveal()).toBe(K2);
    expect(before?.apiKey.reveal()).toBe(K1); // a call holding the old app object keeps its key
    expect(JSON.stringify(changes)).not.toContain(K2);
  });

  it('keeps everything when the new files are invalid', () => {
    const t = targets();
    writeFileSync(join(dir, 'default.key'), '   ');
    expect(t.reload()).toEqual([]);
    expect(t.app('default')?.apiKey.reveal()).toBe(K1);
    writeFileSync(join(dir, 'default.key'), K1);
    writeFileSync(join(dir, 'apps.json'), '{ not json');
    expect(t.reload()).toEqual([]);
    expect(t.aliases()).toEqual(['default', 'hr']);
  });
});
