import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createAuditLog } from './audit/audit-log.js';
import { AUDIT_USAGE, runAuditCommand } from './audit/audit-cli.js';
import { ApiKeyRepository } from './auth/api-key.repository.js';
import { ApiKeyService } from './auth/api-key.service.js';
import { GatewayError } from './common/gateway-error.js';
import { redactText } from './common/redact.js';
import { gatewayConfig } from './config/gateway-config.js';
import { openDatabase } from './database/open-database.js';

const USAGE = `Usage: npm run cli -- <command>
  keys create --name <name> --app <alias> --scopes <scope,scope> [--json]
  keys list [--json]
  keys revoke <id> [--json]
${AUDIT_USAGE}`;

/** Operator CLI for gateway keys and the audit log. It uses the gateway's own config and database. */
async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, app: { type: 'string' }, scopes: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || (group !== 'keys' && group !== 'audit') || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const cfg = gatewayConfig();
  const db = await openDatabase({ url: cfg.database.url?.reveal(), kind: cfg.database.kind, pgliteDir: cfg.database.pgliteDir, migrationsDir: cfg.database.migrationsDir });
  // Admin actions go to the audit log like the gateway's own (fail closed: no record, no change).
  const audit = createAuditLog(db, cfg.audit);
  try {
    if (group === 'audit') return await runAuditCommand(command, values, db, cfg, (line) => console.log(line));
    const keys = new ApiKeyService(new ApiKeyRepository(db));
    const record = (action: string, target: string, status: number) =>
      audit.service.recordAdminAction({ requestId: `cli-${randomUUID()}`, action, actorKeyId: null, actorName: 'cli', target, status, outcome: 'success' });
    const print = (value: unknown, text: string) => console.log(values.json ? JSON.stringify(value, null, 2) : text);
    switch (command) {
      case 'create': {
        if (!values.name || !values.scopes) throw GatewayError.badRequest('keys create needs --name and --scopes (and --app when several apps are configured).');
        const created = await keys.create(
          { name: values.name, app: values.app ?? cfg.dify.defaultApp, scopes: values.scopes.split(',').map((s) => s.trim()).filter(Boolean) },
          Object.keys(cfg.dify.apps),
        );
        await record('keys.create', created.id, 201).catch(async (error: unknown) => {
          await keys.revoke(created.id);
          throw error;
        });
        print(created, `Created key ${created.id} (${created.name}) for app ${created.apps[0]} with scopes ${created.scopes.join(',')}.\n${created.key}\nThis is the only time the key is shown.`);
        return 0;
      }
      case 'list': {
        const list = await keys.list();
        print(list, list.map((k) => `${k.id}  ${k.prefix}…  ${k.name}  apps=${k.apps.join(',')}  scopes=${k.scopes.join(',')}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}`).join('\n') || 'No keys.');
        return 0;
      }
      case 'revoke': {
        const revoked = await keys.revoke(rest[0] ?? '');
        await record('keys.revoke', revoked.id, 200);
        print(revoked, `Revoked key ${revoked.id} (${revoked.name}).`);
        return 0;
      }
      default:
        console.log(USAGE);
        return 2;
    }
  } finally {
    await audit.close();
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${redactText(error instanceof Error ? error.message : String(error))}`);
    process.exit(error instanceof GatewayError ? 2 : 1);
  },
);
