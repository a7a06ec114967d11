import type { Command } from 'commander';
import type { HostFilters } from '../api/index.js';
import { momentOrId, port } from './shared.js';

/** Filters shared by `ips list`, `export` and `search`; their names match the query parameters. */
export function hostFilterOptions(cmd: Command): Command {
  return cmd
    .option('--no-has-ports', 'include hosts without open ports')
    .option('--port <port>', 'with this open port', port)
    .option('--proto <proto>', 'protocol of --port (tcp, udp, sctp)')
    .option('--service <name>', 'with an open port running this service (e.g. http)')
    .option('--product <text>', 'with a product containing this text (e.g. nginx)')
    .option('--cidr <cidr>', 'inside this network, e.g. 10.0.0.0/24')
    .option('--hostname <name>', 'with this hostname')
    .option('--as-of <when>', 'as the project stood then: a time, a span back from now (7d, 12h) or an import/scan id (right after it was applied)', momentOrId);
}

export function hostFilters(opts: Record<string, any>): HostFilters {
  return {
    hasOpenPorts: opts.hasPorts === false ? undefined : true,
    port: opts.port === undefined ? undefined : String(opts.port),
    proto: opts.proto,
    service: opts.service,
    product: opts.product,
    cidr: opts.cidr,
    hostname: opts.hostname,
    asOf: opts.asOf,
  };
}

/** Follows cursors until `max` rows or the end, so `--limit` means rows, not pages. */
export async function collect<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string | null }>, max: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < max);
  return out.slice(0, max);
}
