import { banner, normalizeChange, normalizeHost, type ChangeView, type HostView } from '../api/normalize.js';
import { dash, utc } from '../output/format.js';
import { formatTable } from '../output/table.js';
import { paintState, visibleLength } from '../output/theme.js';
import type { Ctx } from './context.js';

/** At most `max` ports, then a count: a host with 500 open ports must not blow up the table. */
export function portList(h: HostView, max = 8): string {
  const open = h.ports.filter((p) => p.state === 'open').map((p) => `${p.port}/${p.proto}`);
  if (!open.length) return '-';
  return open.length > max ? `${open.slice(0, max).join(', ')} (+${open.length - max})` : open.join(', ');
}

export function printHosts(ctx: Ctx, raw: unknown[]): void {
  const hosts = raw.map(normalizeHost);
  ctx.printer.table(hosts, [
    { header: 'ip', value: (h) => h.ip },
    { header: 'open', value: (h) => String(h.openPortCount), right: true },
    { header: 'ports', value: (h) => portList(h) },
    { header: 'hostnames', value: (h) => dash(h.hostnames) },
    { header: 'last_seen', value: (h) => utc(h.lastSeen) },
  ]);
}

/** The original's per-host block: a header, then PORT PROTO STATE SERVICE BANNER. */
export function formatHostBlock(ctx: Ctx, h: HostView): string {
  const theme = ctx.printer.theme;
  const lines = [
    `${theme.strong('IP:')} ${theme.strong(h.ip)}`,
    `Status   : ${h.status ? paintState(theme, h.status) : '-'}`,
    `OS       : ${dash(h.os)}`,
    `Hostnames: ${dash(h.hostnames)}`,
    `Seen     : ${utc(h.firstSeen)} → ${utc(h.lastSeen)}`,
    '',
  ];
  if (!h.ports.length) lines.push('No ports.');
  else {
    lines.push(
      formatTable(h.ports, [
        { header: 'port', value: (p) => String(p.port) },
        { header: 'proto', value: (p) => p.proto },
        { header: 'state', value: (p) => paintState(theme, p.state) },
        { header: 'service', value: (p) => dash(p.service) },
        { header: 'banner', value: banner },
      ], theme),
    );
    for (const p of h.ports) {
      for (const s of p.scripts) lines.push(`  ${theme.muted(`${p.port}/${p.proto} ${s.id}:`)} ${s.output.trim().replace(/\n/g, '\n    ')}`);
    }
  }
  for (const s of h.hostScripts) lines.push(`  ${theme.muted(`host ${s.id}:`)} ${s.output.trim().replace(/\n/g, '\n    ')}`);
  return lines.join('\n');
}

/** old → new, with the old values padded to line the arrows up, as in the original's history view. */
export function printChanges(ctx: Ctx, raw: unknown[]): void {
  const rows = raw.map(normalizeChange);
  const oldWidth = Math.max(0, ...rows.map((r) => visibleLength(dash(r.old))));
  ctx.printer.table(rows, [
    { header: 'ip', value: (r: ChangeView) => r.ip },
    { header: 'port', value: (r) => (r.port === null ? '-' : String(r.port)) },
    { header: 'proto', value: (r) => dash(r.proto) },
    { header: 'change', value: (r) => r.field },
    { header: 'old → new', value: (r) => `${dash(r.old).padEnd(oldWidth)} → ${dash(r.new)}` },
    { header: 'observed (utc)', value: (r) => utc(r.at) },
    { header: 'source', value: (r) => dash(r.source) },
  ]);
}
