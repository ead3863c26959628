import { readFileSync } from 'node:fs';
import { EXIT, type CliCommand } from './command.js';
import { verifyStream } from '../audit/sinks/verify-stream.js';

/**
 * `audit verify-stream <file>`: checks a file as a receiver stored it (see `verifyStream`).
 * Needs no database and no gateway config. Exit 0 when it verifies, 3 when it does not.
 */
export const VERIFY_STREAM_COMMAND: CliCommand = {
  group: 'audit',
  name: 'verify-stream',
  args: '<file>',
  summary: 'check a file a SIEM receiver stored: seq continuity, each hash, prev_hash links, batch signatures',
  options: [{ flags: '--hmac-key-file <path>', description: "the sink's HMAC key, to check the batch signatures" }],
  needs: 'none',
  async run({ args: [file], options, print }) {
    const keyFile = options.hmacKeyFile as string | undefined;
    const key = keyFile ? readFileSync(keyFile, 'utf8').trim() : undefined;
    const report = await verifyStream(file, key);
    const range = `seq ${report.first_seq ?? '-'} to ${report.last_seq ?? '-'}`;
    const lines = [
      `${report.ok ? 'OK' : 'FAILED'}: ${report.events} events (${range}), ${report.duplicates} duplicates, ${report.signatures_checked} signatures checked`,
      ...report.problems.map(
        (p) => `  ${p.kind}${p.seq !== undefined ? ` at seq ${p.seq}` : ''}${p.line !== undefined ? ` (line ${p.line})` : ''}: ${p.message}`,
      ),
    ];
    print(report, lines.join('\n'));
    return report.ok ? EXIT.ok : EXIT.verifyFailed;
  },
};
