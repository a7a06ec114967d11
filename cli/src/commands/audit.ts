import { Command, InvalidArgumentError } from 'commander';
import { CliError, usageError } from '../errors.js';
import { dash, parseMoment, utc } from '../output/format.js';
import { action, looksLikeId, type Io } from './context.js';
import { sourceText } from '../api/normalize.js';
import { paintState } from '../output/theme.js';
import { examples, jsonOption, moment, momentOrId, projectOption, yesOption } from './shared.js';

type Obj = Record<string, any>;

/** `10.0.0.5:443`, `10.0.0.5:53/udp`, `[2001:db8::1]:443/tcp`. */
export function parsePortRef(value: string): { ip: string; port: number; proto: string } {
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected IP:PORT[/PROTO], e.g. 10.0.0.5:443 or [2001:db8::1]:53/udp');
  return { ip: m[1] ?? m[2], port, proto: m[4] ?? 'tcp' };
}

function replayCommand(io: Io): Command {
  return examples(
    new Command('replay')
      .description('rebuild the project from the event log up to a moment in a scratch schema and compare its checksum with the as-of view (exit 1 when they differ)')
      .requiredOption('--until <when>', 'a time, or a span back from now (7d, 12h)', moment)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const r = await ctx.api().ledger.auditReplay(p.id, opts.until as string);
          if (ctx.json) ctx.printer.json(r);
          else {
            ctx.printer.line(`replayed project '${p.name}' up to ${utc(r.until)}: ${r.hosts} hosts (${r.scanned} log records read in ${r.seconds.toFixed(1)} s)`);
            ctx.printer.line(`replay checksum  ${r.replayChecksum}`);
            ctx.printer.line(`as-of checksum   ${r.asOfChecksum}`);
            ctx.printer.line(r.equal ? 'equal: the log and the ledger tell the same story' : 'DIFFERENT: the ledger does not match its log');
          }
          if (!r.equal) throw new CliError('failure', 'the replay checksum differs from the as-of checksum', 'run `falcli ledger rebuild` as an admin and compare again');
        }),
      ),
    'falcli audit replay --until 2026-11-20T18:00:00Z',
    'falcli audit replay --project acme --until 7d --json',
  );
}

export function auditCommand(io: Io): Command {
  return examples(
    new Command('audit')
      .addCommand(replayCommand(io))
      .description('the raw event trail of one host: every event that touched it, oldest first')
      .argument('<ip>', 'IP address')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, _opts, ip: string) => {
          const p = await ctx.project();
          const { items } = await ctx.api().ledger.hostEvents(p.id, ip);
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No events for ${ip} in project '${p.name}'.`);
          ctx.printer.table(items as Obj[], [
            { header: 'occurred (utc)', value: (e) => utc(e.occurredAt ?? e.observedAt) },
            { header: 'type', value: (e) => dash(e.type) },
            { header: 'source', value: (e) => dash(sourceText(e.payload?.source) ?? e.payload?.importId) },
            { header: 'actor', value: (e) => (e.actor ? `${e.actor.kind}:${e.actor.id}` : '-') },
            { header: 'event_id', value: (e) => dash(e.eventId) },
          ]);
        }),
      ),
    'falcli audit 10.0.0.5',
    'falcli audit 10.0.0.5 --json | jq ".[].type"',
  );
}

interface Where {
  readonly ip: string;
  readonly proto: string | null;
  readonly port: number | null;
}
interface DiffAnswer {
  readonly from: string;
  readonly to: string;
  readonly hostsAppeared: string[];
  readonly hostsDisappeared: string[];
  readonly portsOpened: Array<Where & { was: unknown }>;
  readonly portsClosed: Array<Where & { now: unknown }>;
  readonly serviceChanges: Array<Where & { field: string; old: unknown; new: unknown }>;
  readonly scriptChanges: Array<Where & { script: string | null }>;
  readonly hostnamesAdded: Array<{ ip: string; name: unknown }>;
  readonly hostnamesRemoved: Array<{ ip: string; name: unknown }>;
}

type DiffRow = readonly [sign: string, ip: string, where: string, what: string, change: string];

/** The diff as rows: + appeared/opened/added, - went away, ~ changed. */
export function diffRows(d: DiffAnswer): DiffRow[] {
  const at = (w: Where) => (w.port === null ? '-' : `${w.port}/${w.proto ?? 'tcp'}`);
  const v = (x: unknown) => dash(Array.isArray(x) ? x.join(', ') : x);
  return [
    ...d.hostsAppeared.map((ip): DiffRow => ['+', ip, '-', 'host appeared', '']),
    ...d.hostsDisappeared.map((ip): DiffRow => ['-', ip, '-', 'host gone', '']),
    ...d.portsOpened.map((p): DiffRow => ['+', p.ip, at(p), 'port opened', `${v(p.was)} → open`]),
    ...d.portsClosed.map((p): DiffRow => ['-', p.ip, at(p), 'port closed', `open → ${v(p.now)}`]),
    ...d.serviceChanges.map((c): DiffRow => ['~', c.ip, at(c), c.field, `${v(c.old)} → ${v(c.new)}`]),
    ...d.scriptChanges.map((c): DiffRow => ['~', c.ip, at(c), `script ${c.script ?? ''}`.trim(), 'output changed']),
    ...d.hostnamesAdded.map((h): DiffRow => ['+', h.ip, '-', 'hostname', v(h.name)]),
    ...d.hostnamesRemoved.map((h): DiffRow => ['-', h.ip, '-', 'hostname', v(h.name)]),
  ].sort((a, b) => a[1].localeCompare(b[1], undefined, { numeric: true }));
}

export function diffCommand(io: Io): Command {
  return examples(
    new Command('diff')
      .description('what changed in the project between two moments (or imports): hosts, ports, services, scripts, hostnames')
      .option('--since <when>', 'same as --from: a time, a span back from now (7d) or an import id', momentOrId)
      .option('--from <when>', 'start: a time, a span (7d) or an import id (right after it was applied)', momentOrId)
      .option('--to <when>', 'end (default: now)', momentOrId)
      .option('--ndiff', 'print the ledger’s ndiff-like text instead of a table')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const from = opts.from ?? opts.since;
          if (!from) throw usageError('give --since or --from', 'falcli diff --since 7d');
          if (opts.ndiff) {
            ctx.io.stdout.write(String(await ctx.api().ledger.diff(p.id, { from, to: opts.to, format: 'text' })));
            return;
          }
          const d = (await ctx.api().ledger.diff(p.id, { from, to: opts.to })) as DiffAnswer;
          if (ctx.json) return ctx.printer.json(d);
          ctx.printer.line(`Changes in '${p.name}' from ${utc(d.from)} to ${utc(d.to)} (UTC)`);
          ctx.printer.kv([
            ['hosts appeared', String(d.hostsAppeared.length)],
            ['hosts gone', String(d.hostsDisappeared.length)],
            ['ports opened', String(d.portsOpened.length)],
            ['ports closed', String(d.portsClosed.length)],
            ['service changes', String(d.serviceChanges.length)],
            ['script changes', String(d.scriptChanges.length)],
            ['hostnames added/removed', `${d.hostnamesAdded.length}/${d.hostnamesRemoved.length}`],
          ]);
          const rows = diffRows(d);
          if (!rows.length) return ctx.printer.note('No changes.');
          const theme = ctx.printer.theme;
          const paint = (sign: string) => (sign === '+' ? theme.ok(sign) : sign === '-' ? theme.error(sign) : theme.warn(sign));
          ctx.printer.line();
          ctx.printer.table(rows, [
            { header: ' ', value: (r) => paint(r[0]) },
            { header: 'ip', value: (r) => r[1] },
            { header: 'port', value: (r) => r[2] },
            { header: 'change', value: (r) => r[3] },
            { header: 'old → new', value: (r) => r[4] },
          ]);
        }),
      ),
    'falcli diff --since 7d',
    'falcli diff --from 7f3c2a10-… --to 9b1d77e2-…',
    'falcli diff --since 24h --ndiff',
  );
}

interface Range {
  readonly from: number;
  readonly to: number;
}
interface Scanned extends Range {
  readonly at: string;
  readonly source: string;
  readonly stale: boolean;
}
interface CoverageAnswer {
  readonly hosts: Array<{ ip: string; protocols: Record<string, { scanned: Scanned[]; neverScanned: Range[] }> }>;
}

export const ranges = (rs: readonly Range[]) => rs.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(', ') || '-';

export function explainCommand(io: Io): Command {
  return examples(
    new Command('explain')
      .description('why a port is in its current state: the chain of changes and the rule each applied')
      .argument('<ip:port>', 'e.g. 10.0.0.5:443 or 10.0.0.5:53/udp')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, _opts, ref: string) => {
          let target: ReturnType<typeof parsePortRef>;
          try {
            target = parsePortRef(ref);
          } catch (e) {
            throw usageError((e as Error).message);
          }
          const p = await ctx.project();
          const res = (await ctx.api().ledger.explain(p.id, target.ip, target.proto, target.port)) as Obj;
          if (ctx.json) return ctx.printer.json(res);
          const theme = ctx.printer.theme;
          const svc = res.current?.service ? [res.current.service.name, res.current.service.product, res.current.service.version].filter(Boolean).join(' ') : '';
          ctx.printer.line(`${theme.strong(`${target.ip}:${target.port}/${target.proto}`)}  ${paintState(theme, String(res.classification ?? res.current?.state ?? '-'))}${svc ? `  ${svc}` : ''}`);
          const chain: string[] = Array.isArray(res.chain) ? res.chain : [];
          if (!chain.length) return ctx.printer.note('No recorded change concerns this port.');
          chain.forEach((sentence, i) => ctx.printer.line(`  ${String(i + 1).padStart(2)}. ${sentence}`));
        }),
      ),
    'falcli explain 10.0.0.5:443',
    'falcli explain 10.0.0.5:161/udp --json',
  );
}

export function coverageCommand(io: Io): Command {
  return examples(
    new Command('coverage')
      .description('per host and protocol: the port ranges scanned (and when), and those never scanned')
      .option('--stale <span|time>', 'flag ranges last scanned before this (30d, or a time)', moment)
      .option('--proto <proto>', 'only this protocol (tcp, udp, sctp)')
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const res = (await ctx.api().ledger.coverage(p.id, { staleBefore: opts.stale })) as CoverageAnswer;
          if (ctx.json) return ctx.printer.json(res);
          const theme = ctx.printer.theme;
          const rows = res.hosts.flatMap((h) => {
            const protos = Object.entries(h.protocols).filter(([proto, c]) => (opts.proto ? proto === opts.proto : c.scanned.length > 0));
            // A host no scan ever covered still deserves a row: that is the gap to fill first.
            return (protos.length ? protos : [['tcp', { scanned: [], neverScanned: [{ from: 1, to: 65535 }] }] as const]).map(([proto, c]) => ({ ip: h.ip, proto, ...c }));
          });
          if (!rows.length) return ctx.printer.warn(`No hosts in project '${p.name}'.`);
          ctx.printer.table(rows, [
            { header: 'ip', value: (r) => r.ip },
            { header: 'proto', value: (r) => r.proto },
            { header: 'scanned', value: (r) => ranges(r.scanned) },
            { header: 'last scanned (utc)', value: (r) => (r.scanned.length ? utc(r.scanned.map((x) => x.at).sort().at(-1)) : '-') },
            { header: 'stale', value: (r) => (r.scanned.some((x) => x.stale) ? theme.warn(ranges(r.scanned.filter((x) => x.stale))) : '-') },
            { header: 'never scanned', value: (r) => ranges(r.neverScanned) },
          ]);
        }),
      ),
    'falcli coverage',
    'falcli coverage --stale 30d --proto tcp',
    'falcli coverage --json | jq ".hosts[].protocols.udp.neverScanned"',
  );
}

export function ledgerCommand(io: Io): Command {
  const cmd = new Command('ledger').description('ledger maintenance (admins): rebuild read models from the event log, checksums');
  examples(cmd, 'falcli ledger checksum', 'falcli ledger rebuild --yes');
  examples(
    cmd
      .command('rebuild')
      .description('drop and rebuild every ledger read model from the event log, then compare checksums')
      .addOption(yesOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          if (!(await ctx.confirm('Rebuild all ledger read models from the event log?'))) return ctx.printer.warn('Aborted.');
          const res = await ctx.api().ledger.rebuild();
          if (ctx.json) return ctx.printer.json(res);
          ctx.printer.success(`Ledger rebuilt: ${res.applied} event(s) in ${res.seconds.toFixed(1)} s.`);
          ctx.printer.kv([
            ['checksum before', res.checksumBefore],
            ['checksum after', res.checksumAfter],
          ]);
          if (!res.equal) throw new CliError('failure', 'the checksums differ: the rebuilt read models are not what the live projection had', 'see the ledger log; a dead-lettered event is the usual cause');
        }),
      ),
    'falcli ledger rebuild --yes',
  );
  examples(
    cmd
      .command('checksum')
      .description('a checksum of all ledger read models; equal before and after a rebuild')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const res = await ctx.api().ledger.checksum();
          if (ctx.json) return ctx.printer.json(res);
          ctx.printer.line(res.checksum);
        }),
      ),
    'falcli ledger checksum',
  );
  return cmd;
}
