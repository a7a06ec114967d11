import { Command } from 'commander';
import { CliError } from '../errors.js';
import { action, type Io } from './context.js';
import { examples } from './shared.js';

export function uiCommand(io: Io): Command {
  return examples(
    new Command('ui')
      .description('interactive terminal UI: projects and hosts, scans, workers, changes, import')
      .option('-p, --project <id|name>', 'start in this project')
      .option('--interval <seconds>', 'refresh period', '3')
      .action(
        action(io, async (ctx, opts) => {
          // A UI needs a keyboard and a screen; in a pipe or a cron job it would hang or print garbage.
          if (!ctx.io.stdout.isTTY || !ctx.io.stdin.isTTY) {
            throw new CliError('usage', 'falcli ui needs an interactive terminal (stdin and stdout must be a TTY)', 'in scripts use the commands instead, e.g. falcli project ips list --json');
          }
          const { runUi } = await import('../ui/run.js');
          const project = opts.project ? await ctx.findProject(opts.project) : ctx.settings().currentProject;
          await runUi({ api: ctx.api(), project, profileName: ctx.settings().profileName, intervalMs: Math.max(1, Number(opts.interval) || 3) * 1000, env: ctx.io.env });
        }),
      ),
    'falcli ui',
    'falcli ui -p acme-external --interval 5',
  );
}
