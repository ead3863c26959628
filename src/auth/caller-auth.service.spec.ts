import { describe, expect, it } from '@jest/globals';
import { generateApiKeySecret, hashApiKey } from './api-key.js';
import type { ApiKeyMatch, ApiKeyRecord, ApiKeyRepository } from './api-key.repository.js';
import type { Caller } from './caller.js';
import { CallerAuthService } from './caller-auth.service.js';
import { KeyEvents } from './key-events.js';
import type { LastUsedTracker } from './last-used.tracker.js';

const CFG = { cacheTtlMs: 60_000, defaultLimits: { requestsPerMinute: 600, concurrentStreams: 20, dailyTokens: 0 } } as never;

function record(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    name: 'team',
    prefix: 'dgw_abcdef',
    scopes: ['chat', 'not-a-scope'],
    apps: ['default'],
    datasets: [],
    namespace: 'team',
    limits: { requestsPerMinute: 5, concurrentStreams: null, dailyTokens: 0 },
    expiresAt: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    revokedAt: null,
    lastUsedAt: null,
    rotatedAt: null,
    previousSecretExpiresAt: null,
    ...overrides,
  };
}

function setup(matches: Map<string, ApiKeyMatch>) {
  let reads = 0;
  const repo = {
    async findByHash(hash: string) {
      reads++;
      return matches.get(hash) ?? null;
    },
    async secretHashes() {
      reads++;
      return [...matches.keys()];
    },
  } as unknown as ApiKeyRepository;
  const touched: string[] = [];
  const lastUsed = { touch: (id: string) => touched.push(id) } as unknown as LastUsedTracker;
  const events = new KeyEvents({ enabled: false, key: (...p: string[]) => p.join(':'), publish: async () => false } as never);
  return { auth: new CallerAuthService(repo, CFG, lastUsed, events), events, touched, reads: () => reads };
}

describe('CallerAuthService', () => {
  it('authenticates with defaults applied, caches the lookup, and notes the use', async () => {
    const secret = generateApiKeySecret();
    const { auth, touched, reads } = setup(new Map([[hashApiKey(secret), { matched: 'current', record: record() }]]));
    const caller = await auth.authenticate(`bearer ${secret}`);
    expect(caller).toEqual({
      keyId: record().id,
      name: 'team',
      scopes: ['chat'],
      apps: ['default'],
      datasets: [],
      namespace: 'team',
      limits: { requestsPerMinute: 5, concurrentStreams: 20, dailyTokens: 0 },
    });
    await Promise.all([auth.authenticate(`Bearer ${secret}`), auth.authenticate(`Bearer ${secret}`)]);
    expect(reads()).toBe(1);
    expect(touched).toHaveLength(3);
  });

  it('refuses unknown, expired and rotated-away secrets', async () => {
    const [expired, old, graceOver] = [generateApiKeySecret(), generateApiKeySecret(), generateApiKeySecret()];
    const graceEnd = new Date(Date.now() + 60_000);
    const { auth } = setup(
      new Map<string, ApiKeyMatch>([
        [hashApiKey(expired), { matched: 'current', record: record({ expiresAt: new Date(Date.now() - 1) }) }],
        [hashApiKey(old), { matched: 'previous', record: record({ previousSecretExpiresAt: graceEnd }) }],
        [hashApiKey(graceOver), { matched: 'previous', record: record({ previousSecretExpiresAt: new Date(Date.now() - 1) }) }],
      ]),
    );
    await expect(auth.authenticate(`Bearer ${generateApiKeySecret()}`)).rejects.toMatchObject({ status: 401, message: 'Access token is invalid' });
    await expect(auth.authenticate(`Bearer ${expired}`)).rejects.toMatchObject({ status: 401, message: 'Access token has expired' });
    expect((await auth.authenticate(`Bearer ${old}`)).secretExpiresAt).toEqual(graceEnd);
    await expect(auth.authenticate(`Bearer ${graceOver}`)).rejects.toMatchObject({ status: 401 });
    await expect(auth.authenticate('Basic abc')).rejects.toMatchObject({ status: 401 });
    await expect(auth.authenticate('Bearer app-difykey0123456789')).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a key whose checksum fails without reading the key store, except a key issued before checksums', async () => {
    const legacy = 'dgw_' + 'L'.repeat(40); // no checksum: made before checksums existed
    const { auth, reads } = setup(new Map([[hashApiKey(legacy), { matched: 'current', record: record() }]]));
    expect((await auth.authenticate(`Bearer ${legacy}`)).keyId).toBe(record().id);
    const readsAfterLegacy = reads();
    for (let i = 0; i < 50; i++) {
      const made = 'dgw_' + generateApiKeySecret().slice(4, 38) + 'zzzzzz';
      await expect(auth.authenticate(`Bearer ${made}`)).rejects.toMatchObject({ status: 401, message: 'Access token is invalid', reason: 'bad_checksum' });
    }
    expect(reads()).toBe(readsAfterLegacy);
  });

  it('reads the key again after a change event', async () => {
    const secret = generateApiKeySecret();
    const matches = new Map([[hashApiKey(secret), { matched: 'current' as const, record: record() }]]);
    const { auth, events, reads } = setup(matches);
    await auth.authenticate(`Bearer ${secret}`);
    matches.delete(hashApiKey(secret));
    await events.changed(record().id);
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toMatchObject({ status: 401 });
    expect(reads()).toBe(2);
  });

  it('resolves the app from the X-Gateway-App header', () => {
    const { auth } = setup(new Map());
    const one = { apps: ['default'] } as Caller;
    const two = { apps: ['default', 'hr'] } as Caller;
    expect(auth.resolveApp(one)).toBe('default');
    expect(auth.resolveApp(one, 'default')).toBe('default');
    expect(auth.resolveApp(two, ' hr ')).toBe('hr');
    expect(auth.resolveApp(two, ['hr', 'default'])).toBe('hr');
    expect(() => auth.resolveApp(two)).toThrow(/several Dify apps \(default, hr\)/);
    expect(() => auth.resolveApp(one, 'hr')).toThrow("This key is not bound to app 'hr'.");
    expect(() => auth.resolveApp({ apps: [] as string[] } as Caller)).toThrow('not bound to any Dify app');
  });
});
