import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { GatewayError } from '../common/gateway-error.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { OpenDatabase } from '../database/open-database.js';
import { createAuditLog } from './audit-log.js';
import type { VerifyRange, VerifyReport } from './read/audit-verify.service.js';

export const AUDIT_USAGE = `  audit verify [--from <ISO time|seq>] [--to <ISO time|seq>] [--json]
  audit checkpoint [--json]`;

/** Exit code of `audit verify` when the log was tampered with. */
export const EXIT_TAMPERED = 3;

export interface AuditCliOptions {
  from?: string;
  to?: string;
  json?: boolean;
}

/**
 * `npm run cli -- audit verify|checkpoint`: the operator's side of the audit log. Verification is
 * itself recorded (as `audit.query`, by `cli:<os user>`). Exit code 0 when the log verifies,
 * 3 when it was tampered with.
 */
export async function runAuditCommand(command: string | undefined, options: AuditCliOptions, db: OpenDatabase, cfg: GatewayConfig, out: (line: string) => void): Promise<number> {
  const log = createAuditLog(db, cfg.audit);
  const actor = { keyId: null, name: `cli:${operatorName()}`, requestId: `cli-${randomUUID()}` };
  try {
    switch (command) {
      case 'verify': {
        const range = { ...bound('from', options.from), ...bound('to', options.to) };
        const report = await log.verifier.verify(range);
        await log.service.recordAccess('audit.query', actor, {
          endpoint: 'cli verify',
          filters: { ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}) },
          rows: report.checked,
          ok: report.ok,
          problem: report.problem ? { kind: report.problem.kind, seq: report.problem.seq } : null,
        });
        out(options.json ? JSON.stringify(report, null, 2) : describeReport(report));
        return report.ok ? 0 : EXIT_TAMPERED;
      }
      case 'checkpoint': {
        const cp = await log.maintenance.checkpoint();
        out(options.json ? JSON.stringify(cp, null, 2) : cp ? `Checkpoint at seq ${cp.seq}: ${cp.hash}${cp.signature ? ` (signed, key ${cp.keyId})` : ' (not signed)'}` : 'The newest checkpoint already covers the head.');
        return 0;
      }
      default:
        throw GatewayError.badRequest(`unknown audit command; usage:\n${AUDIT_USAGE}`);
    }
  } finally {
    await log.close();
  }
}

/** `--from 120` is a seq, `--from 2026-12-01T00:00:00Z` a time. */
function bound(which: 'from' | 'to', value: string | undefined): VerifyRange {
  if (value === undefined) return {};
  if (/^\d+$/.test(value)) return which === 'from' ? { fromSeq: Number(value) } : { toSeq: Number(value) };
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw GatewayError.badRequest(`--${which} must be an ISO 8601 time or a seq number.`);
  return which === 'from' ? { from: time } : { to: time };
}

export function describeReport(r: VerifyReport): string {
  const asked = r.range.fromSeq !== null || r.range.toSeq !== null ? `, for the range ${r.range.fromSeq ?? 'start'}-${r.range.toSeq ?? 'end'}` : '';
  const span = r.firstSeq === null ? `no events${asked}` : `seq ${r.firstSeq}-${r.lastSeq}${asked}`;
  const lines = r.ok
    ? [`OK: ${r.checked} events verified (${span}), ${r.checkpointsChecked} checkpoints, signatures ${r.signed ? 'checked' : 'NOT checked (no signing key)'}, chain walked from the ${r.startedFrom}.`]
    : r.problem!.kind === 'unsealed'
      ? [`NOT SEALED: ${r.problem!.message}`, `(${r.checked} sealed events verified)`]
      : [`TAMPERED: ${r.problem!.kind} at seq ${r.problem!.seq}${r.problem!.eventId ? ` (event ${r.problem!.eventId})` : ''}: ${r.problem!.message}`, `(${r.checked} events verified before it)`];
  return [...lines, ...r.warnings.map((w) => `warning: ${w}`)].join('\n');
}

function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
