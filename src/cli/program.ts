import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { GatewayError } from '../common/gateway-error.js';
import { redactText } from '../common/redact.js';
import { ConfigValidationError } from '../config/env.schema.js';
import { EXIT, EXIT_CODES_HELP, UsageError, type CliCommand, type CliOption, type GatewayContext } from './command.js';

/** How the CLI is run in the image and from a checkout (after `npm run build`). */
export const CLI_NAME = 'node dist/cli.js';

const ENVIRONMENT_HELP = `Configuration: the gateway's own environment (README, "Configuration"). Read-only commands
(keys list/show, audit verify/checkpoint) need only the database; no Dify key, no Redis.`;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** An error as the CLI reports it: Dify's `{ code, message, status }` shape plus the exit code. */
interface CliErrorBody {
  code: string;
  message: string;
  /** The HTTP status the API answers the same refusal with (absent for usage and environment errors). */
  status?: number;
  exit_code: number;
}

export function errorBody(error: unknown): CliErrorBody {
  if (error instanceof UsageError) return { code: error.code, message: error.message, exit_code: EXIT.usage };
  if (error instanceof CommanderError) {
    const message = error.message.replace(/^error: /, '').replace(/ is invalid\. /, ' is invalid: ');
    return {
      code: error.code
        .replace(/^commander\./, '')
        .replace(/([a-z])([A-Z])/g, '$1_$2')
        .toLowerCase(),
      message,
      exit_code: EXIT.usage,
    };
  }
  if (error instanceof GatewayError) {
    return { code: error.code, message: error.message, status: error.status, exit_code: error.status < 500 ? EXIT.usage : EXIT.failure };
  }
  if (error instanceof ConfigValidationError) return { code: 'config_invalid', message: error.message, exit_code: EXIT.failure };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'failed', message, exit_code: EXIT.failure };
}

function addOption(command: Command, spec: CliOption): void {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) {
    const parse = spec.parse;
    option.argParser((value: string) => {
      try {
        return parse(value);
      } catch (error) {
        // commander names the option and value: "option '--rpm <n>' argument 'x' is invalid. <why>"
        throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
      }
    });
  }
  command.addOption(option);
}

/** Builds the command tree from the table; `run` receives the leaf and what commander parsed. */
export function buildProgram(commands: readonly CliCommand[], onRun: (row: CliCommand, args: string[], opts: Record<string, unknown>) => void): Command {
  const program = new Command(CLI_NAME)
    .description('dify-gateway operator CLI: caller keys and the audit log')
    .version(packageVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'show help (also after any command)')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}`)
    // Inherited by every command made below: errors are thrown to runCli, which reports them (as JSON under --json).
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  const groups = new Map<string, Command>();
  for (const row of commands) {
    let group = groups.get(row.group);
    if (!group) {
      const names = commands.filter((c) => c.group === row.group).map((c) => c.name);
      group = program.command(row.group).description(`${names.join(', ')} (${row.group} <command> --help)`);
      group.helpOption('-h, --help', 'show help').helpCommand(false);
      group.addHelpText('after', `\n${EXIT_CODES_HELP}`);
      groups.set(row.group, group);
    }
    const leaf = group
      .command(row.args ? `${row.name} ${row.args}` : row.name)
      .description(row.summary)
      .helpOption('-h, --help', 'show help');
    for (const option of row.options ?? []) addOption(leaf, option);
    leaf.option('--json', 'print the result (and errors, on stderr) as JSON');
    leaf.addHelpText('after', `${row.details ? `\n${row.details}\n` : ''}\n${EXIT_CODES_HELP}`);
    leaf.action((...received: unknown[]) => {
      const self = received.at(-1) as Command;
      onRun(row, self.processedArgs as string[], self.opts());
    });
  }
  return program;
}

/** Runs the CLI; resolves with the exit code. Output goes to stdout, errors to stderr. */
export async function runCli(commands: readonly CliCommand[], argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let chosen: { row: CliCommand; args: string[]; opts: Record<string, unknown> } | undefined;
  const program = buildProgram(commands, (row, args, opts) => (chosen = { row, args, opts }));
  try {
    if (argv.length === 0) program.outputHelp({ error: true });
    if (argv.length === 0) throw new UsageError('a command is needed', 'missing_command');
    program.parse(argv, { from: 'user' });
    if (!chosen) throw new UsageError(`a command is needed; see ${CLI_NAME} --help`, 'missing_command');
    return await execute(chosen.row, chosen.args, chosen.opts, json);
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT.ok; // --help, --version: already printed
    // A group without a command: commander printed the group's help (on stderr).
    const groupHelp = error instanceof CommanderError && error.code === 'commander.help';
    const body = errorBody(groupHelp ? new UsageError('a command is needed', 'missing_command') : error);
    process.stderr.write(json ? `${redactText(JSON.stringify(body))}\n` : `error: ${redactText(body.message)}${hint(body, commands, argv)}\n`);
    return body.exit_code;
  }
}

/** `(see node dist/cli.js keys list --help)`: the help of as much of the command as exists. */
function hint(body: CliErrorBody, commands: readonly CliCommand[], argv: string[]): string {
  if (body.exit_code !== EXIT.usage || body.status !== undefined) return '';
  const [group, name] = argv;
  const words = commands.some((c) => c.group === group && c.name === name) ? ` ${group} ${name}` : commands.some((c) => c.group === group) ? ` ${group}` : '';
  return `\n(see ${CLI_NAME}${words} --help)`;
}

async function execute(row: CliCommand, args: string[], opts: Record<string, unknown>, json: boolean): Promise<number> {
  const needs = typeof row.needs === 'function' ? row.needs(opts) : row.needs;
  const app: GatewayContext | undefined = needs === 'none' ? undefined : await (await import('./cli-context.js')).openGatewayContext(needs);
  try {
    const code = await row.run({
      args,
      options: opts,
      json,
      get: (type) => {
        if (!app) throw new Error(`${row.group} ${row.name} declares needs 'none' but asked for ${type.name}`);
        return app.get(type);
      },
      print: (value, text) => process.stdout.write(`${json ? JSON.stringify(value, null, 2) : text}\n`),
    });
    return code ?? EXIT.ok;
  } finally {
    // Writes and seals what the command recorded, then closes Redis and the database.
    await app?.close();
  }
}
