import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyStream } from './verify-stream.js';

export const VERIFY_STREAM_USAGE = '  audit verify-stream <file> [--hmac-key-file <path>] [--json]';

/**
 * `audit verify-stream <file>`: checks a file as a receiver stored it (see `verifyStream`).
 * Needs no database and no gateway config. Exit 0 when it verifies, 1 when it does not, 2 on usage.
 */
export async function runVerifyStream(args: string[], out: (line: string) => void = console.log): Promise<number> {
  const options = { 'hmac-key-file': { type: 'string' }, json: { type: 'boolean', default: false } } as const;
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
  const [file] = positionals;
  if (!file) {
    out(`Usage:\n${VERIFY_STREAM_USAGE}`);
    return 2;
  }
  const key = values['hmac-key-file'] ? readFileSync(values['hmac-key-file'], 'utf8').trim() : undefined;
  const report = await verifyStream(file, key);
  if (values.json) out(JSON.stringify(report, null, 2));
  else {
    const range = `seq ${report.first_seq ?? '-'} to ${report.last_seq ?? '-'}`;
    out(`${report.ok ? 'OK' : 'FAILED'}: ${report.events} events (${range}), ${report.duplicates} duplicates, ${report.signatures_checked} signatures checked`);
    for (const p of report.problems) {
      out(`  ${p.kind}${p.seq !== undefined ? ` at seq ${p.seq}` : ''}${p.line !== undefined ? ` (line ${p.line})` : ''}: ${p.message}`);
    }
  }
  return report.ok ? 0 : 1;
}
