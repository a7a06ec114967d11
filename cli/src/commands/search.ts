import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { fileError } from '../errors.js';
import { action, type Io } from './context.js';
import { collect, hostFilterOptions, hostFilters } from './host-filters.js';
import { printHosts } from './render.js';
import { examples, jsonOption, momentOrId, positiveInt, projectOption } from './shared.js';

const CLAUSE_KEYS = new Set(['port', 'proto', 'service', 'product', 'version', 'state']);

/** `port=443,service=http` → { port: 443, service: 'http' }: one clause, all of it on the same port. */
export function parseClause(value: string, previous: Record<string, unknown>[] = []): Record<string, unknown>[] {
  const clause: Record<string, unknown> = {};
  for (const part of value.split(',')) {
    const [k, ...rest] = part.split('=');
    const key = k.trim();
    const v = rest.join('=').trim();
    if (!CLAUSE_KEYS.has(key) || !v) throw new InvalidArgumentError(`expected key=value pairs with keys ${[...CLAUSE_KEYS].join(', ')}; got '${part}'`);
    clause[key] = key === 'port' ? Number(v) : v;
    if (key === 'port' && !Number.isInteger(clause.port)) throw new InvalidArgumentError(`port must be a number; got '${v}'`);
  }
  return [...previous, clause];
}

function bodyFrom(value: string): unknown {
  const text = value.startsWith('@') ? readBody(value.slice(1)) : value;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fileError(`--body is not valid JSON: ${(e as Error).message}`);
  }
}

function readBody(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw fileError(`cannot read ${path}: ${(e as { code?: string }).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function searchOptions(cmd: Command): Command {
  return cmd
    .option('--all-of <clause>', 'a port must match all of key=value,… (port, proto, service, product, version, state); repeatable', parseClause, [])
    .option('--any-of <clause>', 'at least one of these clauses must match a port; repeatable', parseClause, [])
    .option('--none-of <clause>', 'no port may match this clause; repeatable', parseClause, [])
    .option('--cidr <cidr>', 'inside this network')
    .option('--hostname <name>', 'with this hostname')
    .option('--as-of <when>', 'as the project stood then: a time, a span back from now (7d, 12h) or an import/scan id (right after it was applied)', momentOrId)
    .option('--body <json|@file>', 'send this search body as is (overrides the other filters)')
    .addOption(projectOption())
    .addOption(jsonOption());
}

function searchBody(opts: Record<string, any>): unknown {
  if (opts.body) return bodyFrom(opts.body);
  const f = hostFilters({ ...opts, hasPorts: true });
  return { cidr: f.cidr, hostname: f.hostname, asOf: f.asOf, allOf: opts.allOf, anyOf: opts.anyOf, noneOf: opts.noneOf, matchedPortsOnly: opts.matchedPortsOnly };
}

export function searchCommand(io: Io): Command {
  return examples(
    searchOptions(new Command('search').description('find hosts by what their ports run; the clauses of one flag hold on the same port'))
      .option('--limit <n>', 'at most this many hosts', positiveInt, 1000)
      .option('--matched-ports-only', 'show only the ports that matched a clause')
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const body = searchBody(opts) as Record<string, unknown>;
          const items = await collect((cursor) => ctx.api().ledger.search(p.id, { ...body, limit: Math.min(opts.limit, 1000), cursor }), opts.limit);
          if (ctx.json) return ctx.printer.json(items);
          if (!items.length) return ctx.printer.warn(`No hosts match in project '${p.name}'.`);
          printHosts(ctx, items);
        }),
      ),
    'falcli search --all-of port=443,service=http --none-of port=80',
    "falcli search --all-of product=nginx,version=1.18.0 --cidr 10.0.0.0/8",
    "falcli search --all-of port=22,version=8.9 --as-of 30d",
    "falcli search --body @query.json --json",
  );
}

export function facetsCommand(io: Io): Command {
  return examples(
    hostFilterOptions(new Command('facets').description('count hosts by open port, service, product, version and OS'))
      .option('--field <fields>', 'which counts (comma-separated): port, service, product, version, os', 'port,service,product,os')
      .option('--top <n>', 'the n most common values of each', positiveInt, 10)
      .addOption(projectOption())
      .addOption(jsonOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const fields = String(opts.field).split(',').map((s) => s.trim()).filter(Boolean);
          const res = await ctx.api().ledger.facets(p.id, hostFilters({ ...opts, hasPorts: false }));
          const picked = Object.fromEntries(fields.filter((f) => f in res).map((f) => [f, res[f].slice(0, opts.top)]));
          if (ctx.json) return ctx.printer.json(picked);
          for (const [field, buckets] of Object.entries(picked)) {
            if (!buckets.length) {
              ctx.printer.line(`${ctx.printer.theme.muted(field.toUpperCase())}  -\n`);
              continue;
            }
            ctx.printer.table(buckets, [
              { header: field, value: (b) => String(b.value) },
              { header: 'hosts', value: (b) => String(b.count), right: true },
            ]);
            ctx.printer.line();
          }
        }),
      ),
    'falcli facets',
    'falcli facets --field service,product --top 20 --cidr 10.0.0.0/16',
  );
}
