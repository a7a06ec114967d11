import { Command, InvalidArgumentError } from 'commander';
import { usageError } from '../errors.js';
import { dash, parseMoment, utc } from '../output/format.js';
import { action, type Io } from './context.js';
import { printGeneric } from './generic.js';
import { printChanges } from './render.js';
import { examples, jsonOption, projectOption, yesOption } from './shared.js';

type Obj = Record<string, any>;

/** `10.0.0.5:443`, `10.0.0.5:53/udp`, `[2001:db8::1]:443/tcp`. */
export function parsePortRef(value: string): { ip: string; port: number; proto: string } {
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected IP:PORT[/PROTO], e.g. 10.0.0.5:443 or [2001:db8::1]:53/udp');
  return { ip: m[1] ?? m[2], port, proto: m[4] ?? 'tcp' };
}

/** A moment, or an import/scan id, which the ledger reads as "right after it was applied". */
function momentOrId(value: string): string {
  try {
    return parseMoment(value);
  } catch {
    if (/^[\w-]{6,}$/.test(value)) return value;
    throw new InvalidArgumentError(`'${value}' is neither a time, a span (7d, 12h) nor an import/scan id`);
  }
}

export function auditCommand(io: Io): Command {
  return examples(
    new Command('audit')
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
            { header: 'source', value: (e) => dash(e.sourceId ?? e.payload?.importId ?? e.payload?.taskId) },
            { header: 'actor', value: (e) => (e.actor ? `${e.actor.kind}:${e.actor.id}` : '-') },
            { header: 'event_id', value: (e) => dash(e.eventId) },
          ]);
        }),
      ),
    'falcli audit 10.0.0.5',
    'falcli audit 10.0.0.5 --json | jq ".[].type"',
  );
}

export function diffCommand(io: Io): Command {
  return examples(
    new Command('diff')
      .description('what changed in the project between two moments (or imports/scans)')
      .option('--since <when>', 'same as --from: a time, a span back from now (7d) or an import/scan id', momentOrId)
      .option('--from <when>', 'start: a time, a span (7d) or an import/scan id', momentOrId)
      .option('--to <when>', 'end (default: now)', momentOrId)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const from = opts.from ?? opts.since;
          if (!from) throw usageError('give --since or --from', 'falcli diff --since 7d');
          const res = (await ctx.api().ledger.diff(p.id, { from, to: opts.to })) as Obj;
          if (ctx.json) return ctx.printer.json(res);
          if (res?.summary) printGeneric(ctx, res.summary);
          const changes = res?.changes ?? res?.items;
          if (Array.isArray(changes)) {
            if (!changes.length) return ctx.printer.note('No changes.');
            ctx.printer.line();
            printChanges(ctx, changes);
          } else if (!res?.summary) printGeneric(ctx, res);
        }),
      ),
    'falcli diff --since 7d',
    'falcli diff --from 7f3c2a10-… --to 9b1d77e2-…',
  );
}

export function explainCommand(io: Io): Command {
  return examples(
    new Command('explain')
      .description("why a port is in its current state: the chain of events and the rule each applied")
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
          ctx.printer.line(`${ctx.printer.theme.strong(`${target.ip}:${target.port}/${target.proto}`)}  ${dash(res?.state ?? res?.class)}`);
          const steps: Obj[] = res?.chain ?? res?.steps ?? res?.items ?? [];
          for (const s of steps) ctx.printer.line(`  ${utc(s.observedAt ?? s.at)}  ${dash(s.explanation ?? s.text ?? s.rule)}${s.sourceId ? ctx.printer.theme.muted(`  (${s.sourceId})`) : ''}`);
        }),
      ),
    'falcli explain 10.0.0.5:443',
    'falcli explain 10.0.0.5:161/udp --json',
  );
}

export function coverageCommand(io: Io): Command {
  return examples(
    new Command('coverage')
      .description("what of the project's scope has never been scanned, or not recently")
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          const p = await ctx.project();
          const res = await ctx.api().ledger.coverage(p.id);
          if (ctx.json) return ctx.printer.json(res);
          printGeneric(ctx, res);
        }),
      ),
    'falcli coverage',
    'falcli coverage --json',
  );
}

export function ledgerCommand(io: Io): Command {
  const cmd = new Command('ledger').description('ledger maintenance (admins): rebuild read models from the event log, checksums');
  examples(cmd, 'falcli ledger checksum', 'falcli ledger rebuild --yes');
  examples(
    cmd
      .command('rebuild')
      .description('drop and rebuild every ledger read model from the event log')
      .addOption(yesOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx) => {
          if (!(await ctx.confirm('Rebuild all ledger read models from the event log?'))) return ctx.printer.warn('Aborted.');
          const res = await ctx.api().ledger.rebuild();
          if (ctx.json) return ctx.printer.json(res);
          ctx.printer.success('Ledger rebuilt.');
          if (res) printGeneric(ctx, res);
        }),
      ),
    'falcli ledger rebuild --yes',
  );
  examples(
    cmd
      .command('checksum')
      .description('a checksum of the read models; equal before and after a rebuild')
      .option('-p, --project <id|name>', 'only this project')
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const projectId = opts.project ? (await ctx.findProject(opts.project)).id : undefined;
          const res = await ctx.api().ledger.checksum(projectId);
          if (ctx.json) return ctx.printer.json(res);
          ctx.printer.line(res.checksum);
        }),
      ),
    'falcli ledger checksum',
    'falcli ledger checksum -p acme-external',
  );
  return cmd;
}
