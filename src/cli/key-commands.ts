import type { AdminKeysService, KeyView } from '../admin/admin-keys.service.js';
import type { ApiKeyLimits } from '../auth/api-key.repository.js';
import type { KeyStatus } from '../auth/api-key.service.js';
import type { DifyTargets } from '../config/dify-targets.js';
import { cliActor } from './cli-actor.js';
import { commaList, type CommandInput, isoDate, limit, nonEmpty, UsageError, wholeNumber, type CliCommand, type CliOption } from './command.js';

const STATUSES: readonly KeyStatus[] = ['active', 'expired', 'revoked'];

const grants = (verb: string): CliOption[] => [
  { flags: '--scopes <scope,...>', description: `scopes the key ${verb} (chat, workflow, files, conversations, ..., audit:read, admin)`, parse: commaList },
  { flags: '--apps <alias,...>', description: 'Dify app aliases the key may call', parse: commaList },
  { flags: '--app <alias>', description: 'the same as --apps with one alias', parse: commaList },
  { flags: '--datasets <id,...|*>', description: 'knowledge bases the key may use (* for all)', parse: commaList },
];

const limits = (allowDefault: boolean): CliOption[] => {
  const suffix = allowDefault ? '; "default": the gateway default' : '';
  return [
    { flags: '--rpm <n>', description: `requests per minute (0: no limit${suffix})`, parse: limit(allowDefault) },
    { flags: '--streams <n>', description: `concurrent streams (0: no limit${suffix})`, parse: limit(allowDefault) },
    { flags: '--daily-tokens <n>', description: `tokens per UTC day (0: no limit${suffix})`, parse: limit(allowDefault) },
  ];
};

type Options = Record<string, unknown>;

function limitsOf(o: Options): Partial<ApiKeyLimits> | undefined {
  const out: Partial<ApiKeyLimits> = {};
  const value = (v: unknown) => (v === 'default' ? null : (v as number));
  if (o.rpm !== undefined) out.requestsPerMinute = value(o.rpm);
  if (o.streams !== undefined) out.concurrentStreams = value(o.streams);
  if (o.dailyTokens !== undefined) out.dailyTokens = value(o.dailyTokens);
  return Object.keys(out).length > 0 ? out : undefined;
}

const appsOf = (o: Options) => (o.apps ?? o.app) as string[] | undefined;

export function describeKey(k: KeyView): string {
  const l = k.limits;
  const show = (v: number | null) => (v === null ? 'default' : v === 0 ? 'none' : String(v));
  return [
    k.status + (k.revokedAt ? ` ${k.revokedAt.toISOString()}` : ''),
    `apps=${k.apps.join(',') || '-'}`,
    `scopes=${k.scopes.join(',')}`,
    `datasets=${k.datasets.join(',') || '-'}`,
    `namespace=${k.namespace}`,
    `rpm=${show(l.requestsPerMinute)} streams=${show(l.concurrentStreams)} dailyTokens=${show(l.dailyTokens)}`,
    `expires=${k.expiresAt ? k.expiresAt.toISOString() : 'never'}`,
    `lastUsed=${k.lastUsedAt ? k.lastUsedAt.toISOString() : 'never'}`,
  ].join('  ');
}

const line = (k: KeyView) => `${k.id}  ${k.prefix}…  ${k.name}  ${describeKey(k)}`;
const JSON_OPTION_NOTE = 'The secret is printed only by create and rotate.';

export const KEY_COMMANDS: readonly CliCommand[] = [
  {
    group: 'keys',
    name: 'create',
    summary: 'create a caller key (prints its secret once)',
    details: `Without --apps the key is bound to the default app. ${JSON_OPTION_NOTE}`,
    options: [
      { flags: '--name <name>', description: 'a name for people (required)', parse: nonEmpty },
      ...grants('holds (required)'),
      { flags: '--namespace <ns>', description: "the key's data namespace (default: a new one)" },
      ...limits(false),
      { flags: '--expires <ISO date>', description: 'when the key stops working', parse: isoDate(false) },
    ],
    needs: 'dify',
    async run({ options: o, get, print }) {
      if (o.name === undefined || o.scopes === undefined) throw new UsageError('keys create needs --name and --scopes.', 'missing_option');
      const keys = await keysService(get);
      const created = await keys.create(cliActor(), {
        name: o.name as string,
        scopes: o.scopes as string[],
        apps: appsOf(o) ?? [(await difyTargets(get)).defaultApp],
        datasets: o.datasets as string[] | undefined,
        namespace: o.namespace as string | undefined,
        limits: limitsOf(o),
        expiresAt: o.expires as Date | undefined,
      });
      print(created, `Created key ${created.id} (${created.name}), ${describeKey(created)}\n${created.key}\nThis is the only time the key is shown.`);
    },
  },
  {
    group: 'keys',
    name: 'list',
    summary: 'list keys (never their secrets)',
    options: [{ flags: '--status <status>', description: 'only keys in this status', choices: STATUSES }],
    needs: 'store',
    async run({ options, get, print }) {
      const keys = await (await keysService(get)).list(options.status as KeyStatus | undefined);
      print(keys, keys.map(line).join('\n') || 'No keys.');
    },
  },
  {
    group: 'keys',
    name: 'show',
    args: '<id>',
    summary: 'show one key',
    needs: 'store',
    async run({ args, get, print }) {
      const key = await (await keysService(get)).get(args[0]!);
      print(key, line(key));
    },
  },
  {
    group: 'keys',
    name: 'update',
    args: '<id>',
    summary: "change a key's name, grants, limits or expiry",
    details: 'Running gateways drop the old grants within a second when REDIS_URL is set.',
    options: [
      { flags: '--name <name>', description: 'a new name', parse: nonEmpty },
      ...grants('holds from now on'),
      ...limits(true),
      { flags: '--expires <ISO date|never>', description: 'a new expiry, or never', parse: isoDate(true) },
    ],
    // App aliases are checked against the configured apps only when they change.
    needs: (o) => (appsOf(o) ? 'dify' : 'redis'),
    async run({ args, options: o, get, print }) {
      const keys = await keysService(get);
      const updated = await keys.update(cliActor(), args[0]!, {
        name: o.name as string | undefined,
        scopes: o.scopes as string[] | undefined,
        apps: appsOf(o),
        datasets: o.datasets as string[] | undefined,
        limits: limitsOf(o),
        expiresAt: o.expires === 'never' ? null : (o.expires as Date | undefined),
      });
      print(updated, `Updated key ${updated.id} (${updated.name}): ${describeKey(updated)}`);
    },
  },
  {
    group: 'keys',
    name: 'rotate',
    args: '<id>',
    summary: 'give a key a new secret; the old one works for a grace period',
    options: [{ flags: '--grace <seconds>', description: 'how long the old secret keeps working (default KEY_ROTATION_GRACE_SECONDS)', parse: wholeNumber }],
    needs: 'redis',
    async run({ args, options, get, print }) {
      const rotated = await (await keysService(get)).rotate(cliActor(), args[0]!, options.grace as number | undefined);
      const until = rotated.previousSecretExpiresAt ? `until ${rotated.previousSecretExpiresAt.toISOString()}` : 'no longer';
      const text = `Rotated key ${rotated.id} (${rotated.name}); the old secret works ${until}.\n${rotated.key}`;
      print(rotated, `${text}\nThis is the only time the new key is shown.`);
    },
  },
  {
    group: 'keys',
    name: 'revoke',
    args: '<id>',
    summary: 'revoke a key (running gateways refuse it within a second with REDIS_URL)',
    needs: 'redis',
    async run({ args, get, print }) {
      const revoked = await (await keysService(get)).revoke(cliActor(), args[0]!);
      print(revoked, `Revoked key ${revoked.id} (${revoked.name}).`);
    },
  },
];

// Loaded when a command runs, not for --help or a usage error: those need none of the gateway's modules.
async function keysService(get: CommandInput['get']): Promise<AdminKeysService> {
  return get((await import('../admin/admin-keys.service.js')).AdminKeysService);
}

async function difyTargets(get: CommandInput['get']): Promise<DifyTargets> {
  return get((await import('../config/dify-targets.js')).DifyTargets);
}
