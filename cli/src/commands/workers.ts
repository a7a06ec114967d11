import { Command } from 'commander';
import { ago, dash } from '../output/format.js';
import { paintState } from '../output/theme.js';
import { action, type Io } from './context.js';
import { examples, jsonOption } from './shared.js';

export function workersCommand(io: Io): Command {
  const cmd = new Command('workers').description('the scanning fleet: workers, their egress IPs, last seen, current task');
  examples(
    cmd
      .command('list', { isDefault: true })
      .alias('ips')
      .description('list workers that announced themselves recently')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const { items, emergencyStop } = await ctx.api().tasker.listWorkers();
          if (ctx.json) return ctx.printer.json(items);
          if (emergencyStop?.active) ctx.printer.warn(`Emergency stop active since ${emergencyStop.since} (by ${emergencyStop.by?.name ?? emergencyStop.by?.id ?? '?'}${emergencyStop.reason ? `: ${emergencyStop.reason}` : ''}); release with: falcli scan resume --all`);
          if (!items.length) return ctx.printer.warn('No workers online.');
          const theme = ctx.printer.theme;
          ctx.printer.table(items, [
            { header: 'worker', value: (w) => w.workerId },
            { header: 'hostname', value: (w) => dash(w.hostname) },
            { header: 'egress_ip', value: (w) => dash(w.egressIp) },
            { header: 'version', value: (w) => dash(w.version) },
            { header: 'status', value: (w) => paintState(theme, dash(w.status ?? 'online')) },
            { header: 'last_seen', value: (w) => ago(w.lastSeen) },
            { header: 'current_task', value: (w) => dash(w.currentTask) },
          ]);
          ctx.printer.note(`${items.length} worker${items.length === 1 ? '' : 's'} online.`);
        }),
      ),
    'falcli workers',
    'falcli workers --json',
  );
  return examples(cmd, 'falcli workers', 'falcli workers list --json');
}
