import { Command } from 'commander';
import type { ImportJob } from '../api/index.js';
import { DEFAULT_IMPORT_RESENDS } from '../api/ledger.js';
import { normalizeHost } from '../api/normalize.js';
import { CliError } from '../errors.js';
import { dash, utc } from '../output/format.js';
import { progressSink } from '../output/progress.js';
import { paintState } from '../output/theme.js';
import { action, type Ctx, type Io } from './context.js';
import { exportTo, formatOption } from './export.js';
import { checkNmapReport } from '../local-files.js';
import { collect, hostFilterOptions, hostFilters } from './host-filters.js';
import { formatHostBlock, printChanges, printHosts } from './render.js';
import { examples, jsonOption, modeOption, moment, momentOrId, nonNegativeInt, port, positiveInt, projectOption, yesOption } from './shared.js';

/** Detail calls for many hosts, a few at a time: fast, without flooding the ledger. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const TERMINAL = new Set(['completed', 'failed', 'duplicate']);

/** Polls an import until the ledger has applied it; the server does not report partial progress, so this shows time spent. */
export async function waitForImport(ctx: Ctx, projectId: string, job: ImportJob, showProgress: boolean, pollMs = 300): Promise<ImportJob> {
  const sink = progressSink(ctx.io.stderr, 'items', 'applying', showProgress);
  let cur = job;
  while (!TERMINAL.has(cur.status)) {
    await new Promise((r) => setTimeout(r, pollMs));
    cur = await ctx.api().ledger.pollImport(projectId, cur);
    sink.update(0, null);
  }
  return cur;
}

export function printImportResult(ctx: Ctx, projectName: string, job: ImportJob): void {
  if (ctx.json) ctx.printer.json(job);
  if (job.status === 'failed') throw new CliError('failure', `import ${job.importId} failed: ${job.reason ?? 'no reason given'}`);
  if (ctx.json) return;
  if (job.status === 'duplicate') {
    ctx.printer.warn(`This report was already imported into '${projectName}' (import ${job.duplicateOf ?? job.importId}); nothing changed. Re-apply with --force.`);
    return;
  }
  if (!TERMINAL.has(job.status)) {
    ctx.printer.success(`Import ${job.importId} accepted (${job.status}); follow it with: falcli project ips import-status ${job.importId} --wait`);
    return;
  }
  ctx.printer.success(`Imported into project '${projectName}' (import ${job.importId}${job.mode ? `, mode ${job.mode}` : ''}).`);
  const c = job.counts;
  if (c) {
    ctx.printer.kv([
      ['hosts in report', String(job.hostCount ?? '-')],
      ['hosts created', String(c.hostsCreated)],
      ['hosts updated', String(c.hostsUpdated)],
      ['hosts unchanged', String(c.hostsUnchanged)],
      ['ports opened', String(c.portsOpened)],
      ['ports closed', String(c.portsClosed)],
      ['changes', String(c.changes)],
    ]);
  }
  if (job.deadLettered) ctx.printer.warn(`${job.deadLettered} host(s) could not be applied and went to the dead-letter topic; see the ledger log.`);
}

export function ipsCommand(io: Io): Command {
  const cmd = new Command('ips').alias('hosts').description("the project's hosts: list, show, import nmap reports, download, delete, history");
  examples(cmd, 'falcli project ips import -f scan.xml', 'falcli project ips list --port 443', 'falcli project ips get 10.0.0.5');

  examples(
    hostFilterOptions(cmd.command('list').description('list hosts (with open ports unless --no-has-ports)'))
      .option('--limit <n>', 'at most this many hosts', positiveInt, 1000)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const filters = hostFilters(opts);
          const items = await collect((cursor) => ctx.api().ledger.listHosts(p.id, { ...filters, limit: Math.min(opts.limit, 1000), cursor }), opts.limit);
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No hosts found in project '${p.name}' (${p.id}).`);
          printHosts(ctx, items);
        }),
      ),
    'falcli project ips list',
    'falcli project ips list --service http --cidr 10.0.0.0/16',
    'falcli project ips list --no-has-ports --json',
  );

  examples(
    cmd
      .command('get')
      .description('show hosts in detail: ports, services, banners, scripts (one IP, or all)')
      .argument('[ip]', 'IP address (default: every host)')
      .option('--as-of <when>', 'as the host stood then: a time, a span back from now (7d) or an import/scan id', momentOrId)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, ip?: string) => {
          const p = await ctx.project();
          const asOf = opts.asOf as string | undefined;
          const ips = ip ? [ip] : (await collect((cursor) => ctx.api().ledger.listHosts(p.id, { hasOpenPorts: true, limit: 1000, cursor, asOf }), Infinity)).map((h) => normalizeHost(h).ip);
          const raws = await mapLimit(ips, 8, (one) => ctx.api().ledger.getHost(p.id, one, asOf));
          if (ctx.json) return ctx.printer.json(ip ? raws[0] : raws);
          if (!raws.length) return ctx.printer.warn(`No hosts found in project '${p.name}' (${p.id}).`);
          ctx.printer.line(raws.map((r) => formatHostBlock(ctx, normalizeHost(r))).join('\n\n\n'));
        }),
      ),
    'falcli project ips get 10.0.0.5',
    'falcli project ips get --json > hosts.json',
  );

  examples(
    cmd
      .command('import')
      .description('upload an nmap XML report (streamed, with progress) and wait until the ledger has applied it')
      .argument('[file]', 'nmap XML report')
      .option('-f, --file <path>', 'nmap XML report (same as the argument)')
      .addOption(modeOption('insert'))
      .option('--no-history', 'do not record history rows for this import')
      .option('--force', 're-apply a report that was already imported')
      .option('--no-wait', 'return once uploaded, without waiting for it to be applied')
      .option('--resends <n>', 'send the file again this many times when the ledger answers that nothing of it was applied (a broker went away)', nonNegativeInt, DEFAULT_IMPORT_RESENDS)
      .option('--progress', 'show progress even when stderr is not a terminal')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, fileArg?: string) => {
          const path = opts.file ?? fileArg;
          if (!path) throw new CliError('usage', 'no report given', 'falcli project ips import -f report.xml');
          const { size } = checkNmapReport(path);
          const p = await ctx.project();
          const show = opts.progress === true || ctx.io.stderr.isTTY === true;
          const sink = progressSink(ctx.io.stderr, 'bytes', 'upload', show);
          const job = await ctx.api().ledger.startImport(p.id, { path, size }, { mode: opts.mode, trackHistory: opts.history !== false, force: opts.force === true }, (sent, total) => sink.update(sent, total), {
            resends: opts.resends,
            onResend: (n, of, ms) => ctx.printer.warn(`the ledger applied nothing of this import (a Kafka broker went away while it was published); sending the file again in ${ms / 1000} s (${n} of ${of})`),
          });
          sink.finish();
          const done = opts.wait === false ? job : await waitForImport(ctx, p.id, job, show);
          printImportResult(ctx, p.name, done);
        }),
      ),
    'falcli project ips import -f scan.xml',
    'falcli project ips import scan.xml --mode replace -p acme-external',
    'falcli project ips import big.xml --no-wait --json',
  );

  examples(
    cmd
      .command('import-status')
      .description('show (and with --wait, follow) an import')
      .argument('<importId>', 'import id')
      .option('--wait', 'wait until it is applied')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, importId: string) => {
          const p = await ctx.project();
          const job = await ctx.api().ledger.getImport(p.id, importId);
          printImportResult(ctx, p.name, opts.wait ? await waitForImport(ctx, p.id, job, ctx.io.stderr.isTTY === true) : job);
        }),
      ),
    'falcli project ips import-status 7f3c2a10-… --wait',
  );

  examples(
    cmd
      .command('imports')
      .description("the project's imports, newest first")
      .option('--limit <n>', 'at most this many', positiveInt, 50)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const { items } = await ctx.api().ledger.listImports(p.id, Math.min(opts.limit, 500));
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No imports in project '${p.name}'.`);
          const theme = ctx.printer.theme;
          ctx.printer.table(items, [
            { header: 'import_id', value: (j) => j.importId },
            { header: 'status', value: (j) => paintState(theme, j.status) },
            { header: 'mode', value: (j) => dash(j.mode) },
            { header: 'file', value: (j) => dash(j.fileName) },
            { header: 'hosts', value: (j) => dash(j.hostCount), right: true },
            { header: 'created', value: (j) => dash(j.counts?.hostsCreated), right: true },
            { header: 'updated', value: (j) => dash(j.counts?.hostsUpdated), right: true },
            { header: 'changes', value: (j) => dash(j.counts?.changes), right: true },
            { header: 'started (utc)', value: (j) => utc(j.startedAt) },
          ]);
        }),
      ),
    'falcli project ips imports',
    'falcli project ips imports --json | jq ".[0].counts"',
  );

  examples(
    formatOption(hostFilterOptions(cmd.command('download').description('download the hosts as a file (default: ./<project>_hosts.<format>)')))
      .option('-o, --out <path>', 'file to write (- for stdout)')
      .addOption(projectOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const out = opts.out ?? `${p.name}_hosts.${opts.format === 'ipport' ? 'txt' : opts.format}`;
          await exportTo(ctx, p, opts.format, hostFilters(opts), out);
        }),
      ),
    'falcli project ips download',
    'falcli project ips download --format csv -o hosts.csv',
  );

  examples(
    cmd
      .command('delete')
      .description('delete one host, or (without an IP) every host of the project')
      .argument('[ip]', 'IP address')
      .addOption(yesOption())
      .addOption(projectOption())
      .action(
        action(io, async (ctx, _opts, ip?: string) => {
          const p = await ctx.project();
          if (ip) {
            await ctx.api().ledger.deleteHost(p.id, ip);
            return ctx.printer.success(`Deleted ${ip} from project '${p.name}'.`);
          }
          if (!(await ctx.confirm(`Delete ALL hosts of project '${p.name}' (${p.id})?`))) return ctx.printer.warn('Aborted.');
          const { deleted } = await ctx.api().ledger.deleteAllHosts(p.id);
          ctx.printer.success(`Deleted ${deleted} host(s) of project '${p.name}'.`);
        }),
      ),
    'falcli project ips delete 10.0.0.5',
    'falcli project ips delete --yes',
  );

  cmd.addCommand(historyCommand(io, 'falcli project ips history'));
  return cmd;
}

/** `project ips history [ip]` and the top-level `history` are the same command. */
export function historyCommand(io: Io, invocation: string): Command {
  const cmd = new Command('history')
    .description('what changed on the hosts (one IP, or all), newest first')
    .argument('[ip]', 'only this IP')
    .option('--port <port>', 'only this port', port)
    .option('--field <field>', 'only this kind of change: host, state, hostname, service.name, service.product, service.version, service.extrainfo, service.tunnel, cpes, script')
    .option('--since <time>', 'from this time (or 7d, 12h ago)', moment)
    .option('--until <time>', 'up to this time', moment)
    .option('--limit <n>', 'at most this many rows', positiveInt, 200)
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      action(io, async (ctx, opts, ip?: string) => {
        const p = await ctx.project();
        const q = { ip, port: opts.port === undefined ? undefined : String(opts.port), field: opts.field, since: opts.since, until: opts.until };
        const items = await collect((cursor) => ctx.api().ledger.history(p.id, { ...q, limit: Math.min(opts.limit, 1000), cursor }), opts.limit);
        if (ctx.json) return ctx.printer.json(items);
        // An empty history is an answer, not an error (the original turned it into a 404).
        if (!items.length) return ctx.printer.warn(`No changes found in project '${p.name}'${ip ? ` for ${ip}` : ''}.`);
        printChanges(ctx, items);
      }),
    );
  return examples(cmd, `${invocation} 10.0.0.5`, `${invocation} --since 7d --field state`, `${invocation} --port 443 --json`);
}
