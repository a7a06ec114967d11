import { Command } from 'commander';
import { EXIT, EXIT_DESCRIPTIONS, type ExitKind } from './errors.js';
import { auditCommand, coverageCommand, diffCommand, explainCommand, ledgerCommand } from './commands/audit.js';
import { completionCommand } from './commands/completion.js';
import type { Io } from './commands/context.js';
import { exportCommand } from './commands/export.js';
import { historyCommand } from './commands/ips.js';
import { profileCommand } from './commands/profile.js';
import { projectCommand } from './commands/project.js';
import { scanCommand } from './commands/scan.js';
import { facetsCommand, searchCommand } from './commands/search.js';
import { examples } from './commands/shared.js';
import { tokenCommand } from './commands/token.js';
import { uiCommand } from './commands/ui.js';
import { usersCommand } from './commands/users.js';
import { webhookCommand } from './commands/webhook.js';
import { workersCommand } from './commands/workers.js';

export const VERSION = '0.1.0';

export function exitCodeHelp(): string {
  return (Object.keys(EXIT) as ExitKind[]).map((k) => `  ${String(EXIT[k]).padStart(3)}  ${EXIT_DESCRIPTIONS[k]}`).join('\n');
}

const ENVIRONMENT = `  FALCLI_CONFIG_DIR   where profiles live (default: $XDG_CONFIG_HOME/falcli or ~/.config/falcli)
  FALCLI_PROFILE      profile to use instead of the active one
  FALCLI_PROJECT      project to use instead of the profile's current one
  FALCLI_LEDGER_URL   ledger URL, overriding the profile
  FALCLI_TASKER_URL   tasker URL, overriding the profile
  FALCLI_TOKEN        token, overriding the profile's token file
  FALCLI_TIMEOUT      seconds to wait for an answer (default 60)
  NO_COLOR            no colours (colours are only used on a terminal anyway)
  NODE_EXTRA_CA_CERTS CA bundle for servers with a private CA (TLS is always verified)`;

/** Applies to every command, including those built apart and attached with addCommand (which inherit nothing). */
function everywhere(cmd: Command, io: Io): void {
  cmd
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)');
  for (const c of cmd.commands) everywhere(c, io);
}

export function buildProgram(io: Io): Command {
  const program = new Command('falcli')
    .description('Falcoria from the terminal: profiles, projects, hosts, imports, scans, and an interactive UI (falcli ui)')
    .version(VERSION, '-V, --version')
    .option('--profile <name>', 'profile to use (default: the active one)')
    .option('--no-color', 'no colours')
    .addHelpText('after', `\nExit codes:\n${exitCodeHelp()}\n\nEnvironment:\n${ENVIRONMENT}\n`);
  examples(program, 'falcli profile create local --token-stdin < token.txt', 'falcli project create acme --use', 'falcli project ips import -f scan.xml', 'falcli ui');

  program.addCommand(profileCommand(io));
  program.addCommand(projectCommand(io));
  program.addCommand(usersCommand(io));
  program.addCommand(tokenCommand(io));
  program.addCommand(scanCommand(io));
  program.addCommand(workersCommand(io));
  program.addCommand(searchCommand(io));
  program.addCommand(facetsCommand(io));
  program.addCommand(exportCommand(io));
  program.addCommand(historyCommand(io, 'falcli history'));
  program.addCommand(auditCommand(io));
  program.addCommand(diffCommand(io));
  program.addCommand(explainCommand(io));
  program.addCommand(coverageCommand(io));
  program.addCommand(ledgerCommand(io));
  program.addCommand(webhookCommand(io));
  program.addCommand(uiCommand(io));
  program.addCommand(completionCommand(io, () => program));
  everywhere(program, io);
  return program;
}
