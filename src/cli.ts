import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { AdminKeysService, type KeyView } from './admin/admin-keys.service.js';
import { createAuditLog } from './audit/audit-log.js';
import { AUDIT_USAGE, runAuditCommand } from './audit/audit-cli.js';
import { runVerifyStream, VERIFY_STREAM_USAGE } from './audit/sinks/verify-stream-cli.js';
import { ApiKeyRepository, type ApiKeyLimits } from './auth/api-key.repository.js';
import { ApiKeyService, type KeyStatus } from './auth/api-key.service.js';
import { KeyEvents } from './auth/key-events.js';
import { GatewayError } from './common/gateway-error.js';
import { redactText } from './common/redact.js';
import { gatewayConfig } from './config/gateway-config.js';
import { openDatabase } from './database/open-database.js';
import { RedisService } from './redis/redis.service.js';

const USAGE = `Usage: npm run cli -- keys <command> | audit <command>
  keys create --name <name> --scopes <scope,scope> [--apps <alias,alias>] [--datasets <id,id|*>]
              [--namespace <ns>] [--rpm <n>] [--streams <n>] [--daily-tokens <n>] [--expires <ISO date>] [--json]
  keys list [--status active|expired|revoked] [--json]
  keys show <id> [--json]
  keys update <id> [--name <name>] [--scopes ...] [--apps ...] [--datasets ...]
              [--rpm <n|default>] [--streams <n|default>] [--daily-tokens <n|default>] [--expires <ISO date|never>] [--json]
  keys rotate <id> [--grace <seconds>] [--json]
  keys revoke <id> [--json]

--app <alias> is accepted for --apps <alias>. Without --apps, create binds the default app.
Limits: 0 means no limit, "default" the gateway's default. The secret is printed only by create
and rotate. With REDIS_URL set, every running gateway drops a changed key within a second.
${AUDIT_USAGE}
${VERIFY_STREAM_USAGE}`;

const OPTIONS = {
  name: { type: 'string' },
  app: { type: 'string' },
  apps: { type: 'string' },
  scopes: { type: 'string' },
  datasets: { type: 'string' },
  namespace: { type: 'string' },
  rpm: { type: 'string' },
  streams: { type: 'string' },
  'daily-tokens': { type: 'string' },
  expires: { type: 'string' },
  grace: { type: 'string' },
  status: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** Operator CLI for gateway keys. It uses the gateway's own config, database and Redis. */
async function main(argv: string[]): Promise<number> {
  // A receiver's check of a delivered file: no database, no gateway config.
  if (argv[0] === 'audit' && argv[1] === 'verify-stream') return runVerifyStream(argv.slice(2));
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [group, command, ...rest] = positionals;
  if (values.help || (group !== 'keys' && group !== 'audit') || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const cfg = gatewayConfig();
  const db = await openDatabase({ url: cfg.database.url?.reveal(), kind: cfg.database.kind, pgliteDir: cfg.database.pgliteDir, migrationsDir: cfg.database.migrationsDir });
  const redis = new RedisService(cfg.redis);
  await redis.ready();
  // Admin actions go to the audit log like the gateway's own (fail closed: no record, no change).
  const audit = createAuditLog(db, cfg.audit);
  try {
    if (group === 'audit') return await runAuditCommand(command, values, db, cfg, (line) => console.log(line));
    const admin = new AdminKeysService(
      new ApiKeyService(new ApiKeyRepository(db), new KeyEvents(redis)),
      audit.service,
      { aliases: () => Object.keys(cfg.dify.apps) },
      cfg.keys,
    );
    const actor = { requestId: `cli-${randomUUID()}`, keyId: null, name: `cli:${safeUserName()}` };
    const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);
    const id = rest[0] ?? '';
    switch (command) {
      case 'create': {
        if (!values.name || !values.scopes) throw GatewayError.badRequest('keys create needs --name and --scopes.');
        const apps = list(values.apps ?? values.app) ?? [cfg.dify.defaultApp];
        const created = await admin.create(actor, {
          name: values.name,
          scopes: list(values.scopes) ?? [],
          apps,
          datasets: list(values.datasets),
          namespace: values.namespace,
          limits: limits(values),
          expiresAt: values.expires ? date(values.expires) : undefined,
        });
        print(created, `Created key ${created.id} (${created.name}), ${describe(created)}\n${created.key}\nThis is the only time the key is shown.`);
        return 0;
      }
      case 'list': {
        const keys = await admin.list(values.status as KeyStatus | undefined);
        print(keys, keys.map((k) => `${k.id}  ${k.prefix}…  ${k.name}  ${describe(k)}`).join('\n') || 'No keys.');
        return 0;
      }
      case 'show': {
        const key = await admin.get(id);
        print(key, `${key.id}  ${key.prefix}…  ${key.name}  ${describe(key)}`);
        return 0;
      }
      case 'update': {
        const updated = await admin.update(actor, id, {
          name: values.name,
          scopes: list(values.scopes),
          apps: list(values.apps ?? values.app),
          datasets: list(values.datasets),
          limits: limits(values),
          expiresAt: values.expires === undefined ? undefined : values.expires === 'never' ? null : date(values.expires),
        });
        print(updated, `Updated key ${updated.id} (${updated.name}): ${describe(updated)}`);
        return 0;
      }
      case 'rotate': {
        const grace = values.grace === undefined ? undefined : integer(values.grace, '--grace');
        const rotated = await admin.rotate(actor, id, grace);
        const until = rotated.previousSecretExpiresAt ? `until ${rotated.previousSecretExpiresAt.toISOString()}` : 'no longer';
        print(rotated, `Rotated key ${rotated.id} (${rotated.name}); the old secret works ${until}.\n${rotated.key}\nThis is the only time the new key is shown.`);
        return 0;
      }
      case 'revoke': {
        const revoked = await admin.revoke(actor, id);
        print(revoked, `Revoked key ${revoked.id} (${revoked.name}).`);
        return 0;
      }
      default:
        console.log(USAGE);
        return 2;
    }
  } finally {
    await audit.close();
    await redis.onModuleDestroy();
    await db.close();
  }
}

function describe(k: KeyView): string {
  const l = k.limits;
  const limit = (v: number | null) => (v === null ? 'default' : v === 0 ? 'none' : String(v));
  return [
    k.status + (k.revokedAt ? ` ${k.revokedAt.toISOString()}` : ''),
    `apps=${k.apps.join(',') || '-'}`,
    `scopes=${k.scopes.join(',')}`,
    `datasets=${k.datasets.join(',') || '-'}`,
    `namespace=${k.namespace}`,
    `rpm=${limit(l.requestsPerMinute)} streams=${limit(l.concurrentStreams)} dailyTokens=${limit(l.dailyTokens)}`,
    `expires=${k.expiresAt ? k.expiresAt.toISOString() : 'never'}`,
    `lastUsed=${k.lastUsedAt ? k.lastUsedAt.toISOString() : 'never'}`,
  ].join('  ');
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

function integer(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw GatewayError.badRequest(`${flag} must be a whole number.`);
  return Number(value);
}

function limits(values: { rpm?: string; streams?: string; 'daily-tokens'?: string }): Partial<ApiKeyLimits> | undefined {
  const out: Partial<ApiKeyLimits> = {};
  const set = (name: keyof ApiKeyLimits, value: string | undefined, flag: string) => {
    if (value !== undefined) out[name] = value === 'default' ? null : integer(value, flag);
  };
  set('requestsPerMinute', values.rpm, '--rpm');
  set('concurrentStreams', values.streams, '--streams');
  set('dailyTokens', values['daily-tokens'], '--daily-tokens');
  return Object.keys(out).length > 0 ? out : undefined;
}

function date(value: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw GatewayError.badRequest('--expires must be an ISO 8601 date-time (or "never" for update).');
  return parsed;
}

function safeUserName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 32) || 'unknown';
  } catch {
    return 'unknown';
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${redactText(error instanceof Error ? error.message : String(error))}`);
    process.exit(error instanceof GatewayError ? 2 : 1);
  },
);
