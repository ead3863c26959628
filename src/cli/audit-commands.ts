import type { AuditService } from '../audit/audit.service.js';
import type { AuditVerifyService, VerifyRange, VerifyReport } from '../audit/read/audit-verify.service.js';
import type { AuditMaintenance } from '../audit/write/audit-maintenance.js';
import { cliActor } from './cli-actor.js';
import { EXIT, UsageError, type CliCommand, type CommandInput } from './command.js';

/** `--from 120` is a seq, `--from 2026-12-01T00:00:00Z` a time. */
function bound(value: string): { seq: number } | { time: Date } {
  if (/^\d+$/.test(value)) return { seq: Number(value) };
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(time.getTime())) throw new UsageError('must be a seq number or an ISO 8601 time such as 2026-12-01T00:00:00Z');
  return { time };
}

function rangeOf(from?: { seq: number } | { time: Date }, to?: { seq: number } | { time: Date }): VerifyRange {
  return {
    ...(from ? ('seq' in from ? { fromSeq: from.seq } : { from: from.time }) : {}),
    ...(to ? ('seq' in to ? { toSeq: to.seq } : { to: to.time }) : {}),
  };
}

/** The summary, then what is normal (`note:`) and what weakens the proof (`warning:`). */
export function describeReport(r: VerifyReport): string {
  return [r.summary, ...r.notes.map((n) => `note: ${n}`), ...r.warnings.map((w) => `warning: ${w}`)].join('\n');
}

export const AUDIT_COMMANDS: readonly CliCommand[] = [
  {
    group: 'audit',
    name: 'verify',
    summary: 'verify the hash chain, checkpoints and signatures of the audit log',
    details: 'Exit code 3 when the log was tampered with or an event stayed unsealed beyond AUDIT_SEAL_MAX_LAG_MS. The check is itself recorded (audit.query).',
    options: [
      { flags: '--from <ISO time|seq>', description: 'start of the range (a seq number or a time)', parse: bound },
      { flags: '--to <ISO time|seq>', description: 'end of the range (a seq number, inclusive, or a time, exclusive)', parse: bound },
    ],
    needs: 'store',
    async run({ options, get, print }) {
      const raw = { from: options.from as { seq: number } | { time: Date } | undefined, to: options.to as { seq: number } | { time: Date } | undefined };
      const report = await (await verifyService(get)).verify(rangeOf(raw.from, raw.to));
      const show = (b?: { seq: number } | { time: Date }) => (b ? ('seq' in b ? String(b.seq) : b.time.toISOString()) : undefined);
      const filters: Record<string, string> = {};
      for (const [name, value] of [
        ['from', show(raw.from)],
        ['to', show(raw.to)],
      ] as const)
        if (value !== undefined) filters[name] = value;
      await (
        await auditService(get)
      ).recordAccess('audit.query', cliActor(), {
        endpoint: 'cli verify',
        filters,
        rows: report.checked,
        ok: report.ok,
        problem: report.problem ? { kind: report.problem.kind, seq: report.problem.seq } : null,
      });
      print(report, describeReport(report));
      return report.ok ? EXIT.ok : EXIT.verifyFailed;
    },
  },
  {
    group: 'audit',
    name: 'checkpoint',
    summary: 'seal what is recorded and write a signed checkpoint of the chain head',
    needs: 'store',
    async run({ get, print }) {
      const cp = await (await maintenance(get)).checkpoint();
      const signed = cp?.signature ? ` (signed, key ${cp.keyId})` : ' (not signed)';
      const text = cp ? `Checkpoint at seq ${cp.seq}: ${cp.hash}${signed}` : 'The newest checkpoint already covers the head.';
      print(cp, text);
    },
  },
];

// Loaded when a command runs, not for --help or a usage error: those need none of the gateway's modules.
async function verifyService(get: CommandInput['get']): Promise<AuditVerifyService> {
  return get((await import('../audit/read/audit-verify.service.js')).AuditVerifyService);
}

async function auditService(get: CommandInput['get']): Promise<AuditService> {
  return get((await import('../audit/audit.service.js')).AuditService);
}

async function maintenance(get: CommandInput['get']): Promise<AuditMaintenance> {
  return get((await import('../audit/write/audit-maintenance.js')).AuditMaintenance);
}
