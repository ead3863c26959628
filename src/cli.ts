import 'reflect-metadata';
import module from 'node:module';
import { VERIFY_STREAM_COMMAND } from './cli/verify-stream-command.js';
import { AUDIT_COMMANDS } from './cli/audit-commands.js';
import type { CliCommand } from './cli/command.js';
import { KEY_COMMANDS } from './cli/key-commands.js';
import { runCli } from './cli/program.js';

/**
 * The operator CLI: `node dist/cli.js <group> <command> [options]` (`--help` anywhere). Each
 * command is one row (src/cli/command.ts): its options, what it needs of the environment, and
 * `run`, which gets the gateway's own services from a Nest application context (CliModule). To
 * add a command, add its row here.
 */
// Compiled code is kept between runs (in the OS temp folder; a read-only one just skips it).
module.enableCompileCache?.();

const COMMANDS: readonly CliCommand[] = [...KEY_COMMANDS, ...AUDIT_COMMANDS, VERIFY_STREAM_COMMAND];

runCli(COMMANDS, process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.name : 'unknown'}\n`);
    process.exit(1);
  },
);
