import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parse } from 'yaml';
import { PROFILE_NAMES, validateScanConfigOverride } from '#domain';
import type { Scan, ScanRequest } from '../api/index.js';
import type { ProjectRef } from '../config/profiles.js';
import { CliError, fileError, usageError } from '../errors.js';
import { clock, dash, utc } from '../output/format.js';
import { bar, formatProgress } from '../output/progress.js';
import { formatKeyValue, formatTable } from '../output/table.js';
import { paintState } from '../output/theme.js';
import { action, type Ctx, type Io } from './context.js';
import { readTargetsFile } from '../local-files.js';
import { examples, jsonOption, list, modeOption, positiveInt, projectOption, yesOption } from './shared.js';

type Counts = NonNullable<Scan['counts']>;
const ACTIVE = new Set(['planning', 'queued', 'running']);

export function readFileOrFail(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw fileError(`cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`);
  }
}

/** A scan config file: the typed override the tasker accepts, plus optional `hosts:` and `description:`. */
export function readScanConfig(path: string): { config: unknown; hosts: string[] } {
  let doc: unknown;
  try {
    doc = parse(readFileOrFail(path, 'scan config'));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw fileError(`scan config ${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fileError(`scan config ${path} must be a YAML mapping`);
  const { hosts, description: _d, ...rest } = doc as Record<string, unknown>;
  const hostList = Array.isArray(hosts) ? hosts.map(String) : typeof hosts === 'string' ? hosts.split(',') : [];
  // Checked here with the tasker's own validator, so a typo fails before anything is queued.
  const v = validateScanConfigOverride(rest);
  if (!v.ok) throw fileError(`scan config ${path} is invalid: ${v.errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ')}`);
  return { config: rest, hosts: hostList.map((h) => h.trim()).filter(Boolean) };
}

/** --hosts beats --targets-file beats the config's hosts (only with --from-config), as in the original. */
export function chooseTargets(opts: { hosts?: string[]; targetsFile?: string; fromConfig?: boolean }, configHosts: string[]): string[] {
  if (opts.hosts?.length) return opts.hosts;
  if (opts.targetsFile) return readTargetsFile(readFileOrFail(opts.targetsFile, 'targets file'));
  if (opts.fromConfig) return configHosts;
  throw usageError('no targets given', 'use --hosts a,b,c, --targets-file FILE, --from-config with hosts: in the config file, or --gaps (the project scope and known hosts)');
}

/** `30d`, `12h`, `8w`: how old coverage may be and still count for dedup. */
function span(value: string): string {
  if (!/^[1-9]\d{0,5}[smhdw]$/.test(value.trim())) throw new InvalidArgumentError('expected a span such as 12h, 30d or 8w');
  return value.trim();
}

const n = (v: unknown) => (typeof v === 'number' ? String(v) : '-');
const sum = (o: unknown) => (typeof o === 'number' ? o : o && typeof o === 'object' ? Object.values(o).reduce<number>((a, v) => a + (typeof v === 'number' ? v : 0), 0) : 0);

function printStarted(ctx: Ctx, p: ProjectRef, scan: Scan, settings: Array<readonly [string, string]>): void {
  const s = scan.summary ?? {};
  ctx.printer.success(`Scan ${scan.scanId} ${scan.status === 'planning' ? 'accepted (still planning)' : 'started'} in project '${p.name}' (${p.id}).`);
  ctx.printer.line('\nScan Settings');
  ctx.printer.kv(settings);
  ctx.printer.line('\nScan Summary');
  const skipped = s.skipped ?? undefined;
  const refused = s.refused;
  ctx.printer.kv([
    ['Targets provided', n(s.provided)],
    ['Duplicates removed', n(s.duplicatesRemoved)],
    ['Hostnames collapsed to IP', n(s.hostnamesCollapsed)],
    ['Excluded by scope', n(s.excludedByScope)],
    ['Refused', String(sum(refused))],
    ['Accepted', n(s.accepted)],
    ['Skipped (done or in flight)', skipped ? String(sum(skipped)) : '-'],
    ['Skipped as covered', skipped ? n(skipped.covered ?? 0) : '-'],
    ['Partially covered', n(s.partiallyCovered)],
    ['Queued addresses', n(s.queued)],
    ['Tasks', n(s.tasks)],
  ]);
  for (const [title, reasons] of [['Skipped reasons:', skipped], ['Refused reasons:', refused]] as const) {
    if (reasons && typeof reasons === 'object' && sum(reasons) > 0) {
      ctx.printer.line(`  ${title}`);
      ctx.printer.line(formatKeyValue(Object.entries(reasons).filter(([, v]) => v).map(([k, v]) => [k, String(v)] as const), ctx.printer.theme, '    '));
    }
  }
  if (s.error) ctx.printer.warn(`planning failed: ${s.error}`);
}

function total(c: Counts): number {
  return c.total ?? (c.queued ?? 0) + (c.running ?? 0) + (c.done ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0);
}

/** Several scans seen as one: `scan status` without an id sums the project's active scans. */
export function combine(scans: Scan[]): { counts: Counts; running: NonNullable<Scan['running']>; waiting: string[] } {
  const counts: Required<Counts> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0, total: 0 };
  for (const s of scans) {
    const c = s.counts ?? {};
    for (const k of ['queued', 'running', 'done', 'failed', 'cancelled'] as const) counts[k] += c[k] ?? 0;
    counts.total += total(c);
  }
  const waiting = [...new Set(scans.flatMap((s) => (s.waiting ? [`${s.waiting.tasks} task(s) ${s.waiting.reason}`] : [])))];
  return { counts, running: scans.flatMap((s) => s.running ?? []), waiting };
}

export function formatStatus(ctx: Ctx, title: string, view: ReturnType<typeof combine>, now = Date.now()): string {
  const { counts, running } = view;
  const theme = ctx.printer.theme;
  const lines = [
    title,
    'Scan Status Summary',
    formatKeyValue(
      [
        ['Tasks total', String(total(counts))],
        ['Running', String(counts.running ?? 0)],
        ['Queued', String(counts.queued ?? 0)],
        ['Done', String(counts.done ?? 0)],
        ['Failed', counts.failed ? theme.error(String(counts.failed)) : '0'],
        ['Cancelled', String(counts.cancelled ?? 0)],
      ],
      theme,
    ),
    '',
  ];
  // Held back by the project's scan policy or the emergency stop (issue 9).
  for (const w of view.waiting ?? []) lines.push(theme.warn(w));
  if (view.waiting?.length) lines.push('');
  const finished = (counts.done ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
  if (total(counts)) lines.push(`${bar(finished / total(counts), 30)}  ${finished}/${total(counts)} finished`, '');
  if (!running.length) lines.push('No running targets.');
  else {
    lines.push('Running Targets:');
    lines.push(
      formatTable(running, [
        { header: 'ip', value: (t) => t.ip },
        { header: 'hostnames', value: (t) => dash(t.hostnames) },
        { header: 'worker', value: (t) => dash(t.workerId) },
        { header: 'started_at (utc)', value: (t) => utc(t.startedAt) },
        { header: 'elapsed', value: (t) => (t.startedAt ? clock(now - new Date(t.startedAt).getTime()) : '-') },
      ], theme),
    );
  }
  return lines.join('\n');
}

async function activeScans(ctx: Ctx, projectId: string): Promise<Scan[]> {
  const { items } = await ctx.api().tasker.listScans(projectId);
  return items.filter((s) => !s.status || ACTIVE.has(s.status) || (s.counts && ((s.counts.queued ?? 0) + (s.counts.running ?? 0) > 0)));
}

/** Redraws the status every interval until nothing is queued or running; Ctrl-C stops watching, not the scan. */
async function watch(ctx: Ctx, p: ProjectRef, load: () => Promise<ReturnType<typeof combine>>, intervalMs: number, title: string): Promise<ReturnType<typeof combine>> {
  const tty = ctx.io.stdout.isTTY === true;
  const start = Date.now();
  let finishedAtStart: number | undefined;
  for (;;) {
    const view = await load();
    const c = view.counts;
    const left = (c.queued ?? 0) + (c.running ?? 0);
    const finished = (c.done ?? 0) + (c.failed ?? 0) + (c.cancelled ?? 0);
    // Rate and ETA count what finished while watching, so a half-done scan does not look instant.
    finishedAtStart ??= finished;
    const rate = formatProgress({ done: finished - finishedAtStart, total: total(c) - finishedAtStart, elapsedMs: Date.now() - start, unit: 'items', label: 'tasks' }, (ctx.io.stdout.columns ?? 80) - 1);
    if (tty) ctx.io.stdout.write(`\x1b[H\x1b[2J${formatStatus(ctx, title, view)}\n${rate}\nRemaining: ${left}/${total(c)} | Elapsed: ${clock(Date.now() - start)}  (Ctrl-C stops watching; the scan goes on)\n`);
    else ctx.printer.line(`${new Date().toISOString()} remaining ${left}/${total(c)} done ${c.done ?? 0} failed ${c.failed ?? 0}`);
    if (left === 0) return view;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function scanCommand(io: Io): Command {
  const cmd = new Command('scan').alias('scans').description('scans: start, follow, list, cancel');
  examples(cmd, 'falcli scan start --hosts 10.0.0.0/24 --scan-profile fast', 'falcli scan status --watch', 'falcli scan list');

  examples(
    cmd
      .command('start')
      .description('start a scan of the given targets in the project')
      .option('--hosts <targets>', 'comma-separated IPs, CIDRs, ranges or hostnames (repeatable; wins over the others)', list)
      .option('--targets-file <path>', 'one target per line (# comments allowed)')
      .option('-c, --config <file>', 'scan config YAML (typed options, optional hosts:)')
      .option('--from-config', 'scan the hosts: listed in --config')
      .addOption(new Option('--scan-profile <name>', 'named scan profile shipped with the tasker (falcli scan profiles)').choices(PROFILE_NAMES))
      .addOption(modeOption())
      .option('--rescan', 'scan again targets this same command finished recently (default: skip them, so re-running resumes); implies --dedup none')
      .option('--gaps', 'fill the gaps: scan only ports the ledger has no coverage for; without targets, the project scope and its known hosts (re-run it to resume)')
      .addOption(new Option('--dedup <mode>', 'against the ledger: coverage (skip ports already scanned) or none (default: coverage for insert/append, none for update/replace)').choices(['coverage', 'none']))
      .option('--stale <span>', 'coverage older than this (12h, 30d, 8w) does not count for dedup', span)
      .option('--idempotency-key <key>', 'a retry with the same key returns the same scan instead of starting another')
      .option('--wait', 'follow the scan until it finishes (exit 1 if a target failed)')
      .option('--interval <seconds>', 'refresh period with --wait', positiveInt, 5)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const file = opts.config ? readScanConfig(opts.config) : { config: undefined, hosts: [] };
          // A gap fill without targets lets the tasker take the project's scope and known hosts.
          const given = Boolean(opts.hosts?.length || opts.targetsFile || opts.fromConfig);
          const targets = opts.gaps && !given ? undefined : chooseTargets(opts, file.hosts);
          if (targets && !targets.length) throw usageError('the target list is empty');
          if (opts.gaps && (opts.rescan || opts.dedup === 'none')) throw usageError('--gaps scans only what coverage lacks; it cannot go with --rescan or --dedup none');
          const p = await ctx.project();
          const body: ScanRequest = {
            targets,
            profile: opts.scanProfile,
            config: file.config,
            mode: opts.mode,
            rescan: opts.rescan,
            idempotencyKey: opts.idempotencyKey,
            ...(opts.gaps ? { gaps: true } : {}),
            ...(opts.dedup ? { dedup: opts.dedup } : {}),
            ...(opts.stale ? { staleAfter: opts.stale } : {}),
          };
          const scan = await ctx.api().tasker.startScan(p.id, body);
          if (ctx.json) ctx.printer.json(scan);
          else
            printStarted(ctx, p, scan, [
              ['Scan profile', opts.scanProfile ?? 'default'],
              ['Import mode', opts.mode ?? 'from the profile'],
              ['Scan config', opts.config ?? '-'],
              ['Rescan', opts.rescan ? 'yes' : 'no (resume)'],
              ['Dedup', opts.gaps ? `coverage (gaps${targets ? '' : ': scope and known hosts'})` : String(scan.summary?.dedup ?? opts.dedup ?? '-')],
            ]);
          if (!opts.wait) return;
          const view = await watch(ctx, p, async () => combine([await ctx.api().tasker.getScan(p.id, scan.scanId)]), opts.interval * 1000, `Scan ${scan.scanId} in '${p.name}'`);
          if (view.counts.failed) throw new CliError('failure', `${view.counts.failed} target(s) failed; see: falcli scan show ${scan.scanId}`);
          ctx.printer.success(`Scan ${scan.scanId} finished.`);
        }),
      ),
    'falcli scan start --hosts 10.0.0.0/24,example.com',
    'falcli scan start --targets-file targets.txt --scan-profile web --mode update',
    'falcli scan start -c scan.yaml --from-config --wait',
    'falcli scan start --gaps --scan-profile full-range',
    'falcli scan start --hosts 10.0.0.0/24 --gaps --stale 30d',
  );

  const statusAction = action(io, async (ctx, opts, scanId?: string) => {
    const p = await ctx.project();
    const load = async () => combine(scanId ? [await ctx.api().tasker.getScan(p.id, scanId)] : await activeScans(ctx, p.id));
    const title = scanId ? `Scan ${scanId} in project '${p.name}' (${p.id})` : `Active scans of project '${p.name}' (${p.id})`;
    if (opts.watch && !ctx.json) {
      await watch(ctx, p, load, opts.interval * 1000, title);
      return ctx.printer.success('Nothing left queued or running.');
    }
    const view = await load();
    if (ctx.json) return ctx.printer.json(view);
    if (!total(view.counts) && !scanId) return ctx.printer.warn(`No active scans in project '${p.name}' (${p.id}).`);
    ctx.printer.line(formatStatus(ctx, title, view));
  });

  examples(
    cmd
      .command('status')
      .description('progress of one scan, or of all active scans of the project')
      .argument('[scanId]', 'scan id (default: all active scans)')
      .option('-w, --watch', 'refresh until nothing is queued or running')
      .option('--interval <seconds>', 'refresh period', positiveInt, 5)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(statusAction),
    'falcli scan status',
    'falcli scan status 0b5e… --watch --interval 2',
  );

  examples(
    cmd
      .command('show')
      .description('one scan: its counts and running targets')
      .argument('<scanId>', 'scan id')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(statusAction),
    'falcli scan show 0b5e…',
  );

  examples(
    cmd
      .command('list')
      .description("the project's scans, newest first")
      .option('--status <status>', 'only scans in this state (queued, running, done, failed, cancelled)')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const { items } = await ctx.api().tasker.listScans(p.id, { status: opts.status });
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No scans in project '${p.name}'.`);
          const theme = ctx.printer.theme;
          ctx.printer.table(items, [
            { header: 'scan_id', value: (s) => s.scanId },
            { header: 'status', value: (s) => paintState(theme, dash(s.status)) },
            { header: 'total', value: (s) => String(total(s.counts ?? {})), right: true },
            { header: 'running', value: (s) => n(s.counts?.running), right: true },
            { header: 'queued', value: (s) => n(s.counts?.queued), right: true },
            { header: 'done', value: (s) => n(s.counts?.done), right: true },
            { header: 'failed', value: (s) => n(s.counts?.failed), right: true },
            { header: 'created (utc)', value: (s) => utc(s.createdAt) },
          ]);
        }),
      ),
    'falcli scan list',
    'falcli scan list --status running --json',
  );

  examples(
    cmd
      .command('cancel')
      .description('cancel a scan, or only some targets (of a scan, or of the whole project); running nmap processes are killed')
      .argument('[scanId]', 'scan id (without it, --ips cancels those targets in every scan of the project)')
      .option('--ips <list>', 'only these targets (comma-separated, repeatable)', list)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, scanId?: string) => {
          if (!scanId && !opts.ips?.length) throw usageError('name a scan, or give --ips to cancel those targets in the whole project', 'falcli scan cancel <scanId>  |  falcli scan cancel --ips 10.0.0.5');
          const p = await ctx.project();
          const res = scanId ? await ctx.api().tasker.cancelScan(p.id, scanId, opts.ips) : await ctx.api().tasker.cancelProject(p.id, opts.ips);
          if (ctx.json) return ctx.printer.json(res);
          const what = `${opts.ips?.length ? `${opts.ips.join(', ')} in ` : ''}${scanId ? `scan ${scanId}` : `project '${p.name}'`}`;
          ctx.printer.success(`Cancelled ${what}${res.applied ? `: ${res.cancelled ?? 0} task(s) (${res.queued ?? 0} queued, ${res.running ?? 0} running)` : ' (the tasker is still applying it)'}.`);
        }),
      ),
    'falcli scan cancel 0b5e…',
    'falcli scan cancel 0b5e… --ips 10.0.0.5,10.0.0.6',
    'falcli scan cancel --ips 10.0.0.5',
  );

  examples(
    cmd
      .command('stop')
      .description('cancel every scan of the project (queued tasks never start, running nmap is killed); with --all --now: the fleet-wide emergency stop (admins)')
      .argument('[project]', 'project id or name (default: the current one)')
      .option('--all', 'every project, every worker: the emergency stop (needs --now)')
      .option('--now', 'with --all: kill every running nmap at once and start nothing until `falcli scan resume --all`')
      .option('--reason <text>', 'with --all: why (kept in the audit trail)')
      .addOption(yesOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts, ref?: string) => {
          if (opts.all) {
            if (!opts.now) throw usageError('--all stops the whole fleet and needs --now to say so', 'falcli scan stop --all --now');
            if (ref) throw usageError('--all takes no project: it stops every project');
            if (!(await ctx.confirm('Kill every running nmap on every worker and start nothing until resumed?'))) return ctx.printer.warn('Aborted.');
            const s = await ctx.api().tasker.emergencyStop(opts.reason);
            if (ctx.json) return ctx.printer.json(s);
            ctx.printer.success(`Emergency stop active since ${s.since} (by ${s.by?.name ?? s.by?.id ?? '?'}): workers kill every running nmap within seconds and take no tasks.`);
            ctx.printer.note('Interrupted tasks run again after: falcli scan resume --all');
            return;
          }
          const p = ref ? await ctx.findProject(ref) : await ctx.project();
          if (!(await ctx.confirm(`Cancel every scan of project '${p.name}'?`))) return ctx.printer.warn('Aborted.');
          const res = await ctx.api().tasker.cancelProject(p.id);
          if (ctx.json) return ctx.printer.json(res);
          if (res.applied && !res.cancelled) return ctx.printer.warn(`No tasks to cancel in project '${p.name}' (${p.id}).`);
          ctx.printer.success(`Scans stopped for project '${p.name}' (${p.id}).`);
          ctx.printer.note(res.applied ? `Cancelled ${res.cancelled} task(s): ${res.queued ?? 0} queued, ${res.running ?? 0} running, in ${res.scanIds?.length ?? 0} scan(s).` : 'The tasker is still applying the cancellation.');
        }),
      ),
    'falcli scan stop --yes',
    'falcli scan stop acme-external --yes',
    'falcli scan stop --all --now --reason "customer asked" --yes',
  );

  examples(
    cmd
      .command('resume')
      .description('release the fleet-wide emergency stop (admins): workers take tasks again, interrupted ones first')
      .option('--all', 'the fleet-wide stop (required: there is no per-project stop)')
      .option('--reason <text>', 'why (kept in the audit trail)')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          if (!opts.all) throw usageError('resume releases the fleet-wide emergency stop: say --all', 'falcli scan resume --all');
          const s = await ctx.api().tasker.releaseEmergencyStop(opts.reason);
          if (ctx.json) return ctx.printer.json(s);
          ctx.printer.success('Emergency stop released: workers take tasks again.');
        }),
      ),
    'falcli scan resume --all',
  );

  examples(
    cmd
      .command('profiles')
      .description('the named scan profiles the tasker ships')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const { items } = await ctx.api().tasker.listProfiles();
          if (ctx.json) return ctx.printer.json(items);
          ctx.printer.table(items, [
            { header: 'profile', value: (p) => p.name },
            { header: 'description', value: (p) => dash(p.description) },
          ]);
        }),
      ),
    'falcli scan profiles',
    'falcli scan profiles --json | jq ".[].name"',
  );
  return cmd;
}
