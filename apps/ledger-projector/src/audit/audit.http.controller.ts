import type { ServerResponse, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, ParseIntPipe, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';
import type { Protocol } from '#events';
import { classifyPort, explainPort, type HostState } from '#domain';
import { Access, ORM } from '#platform';
import { unpackState } from '../projection/state-codec.js';
import { readChangeFeed, toChange, type HistoryRow } from './change-feed.js';

export class DiffQueryDto {
  @Matches(/^(\d{1,5}[smhdw]|[0-9a-f-]{36}|\d{4}-\d{2}-\d{2}T[^ ]+|\d{4}-\d{2}-\d{2})$/, { message: 'from must be a time (ISO 8601), a duration like 7d or 12h, or an import or scan id' })
  from!: string;

  @IsOptional() @Matches(/^([0-9a-f-]{36}|\d{4}-\d{2}-\d{2}T[^ ]+|\d{4}-\d{2}-\d{2}|now)$/, { message: 'to must be a time (ISO 8601), an import id, or now' })
  to?: string;

  @IsOptional() @IsIn(['json', 'text'])
  format?: 'json' | 'text';
}

export class CoverageQueryDto {
  @IsOptional() @IsISO8601() staleBefore?: string;
}

const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp', 'ip'];

@ApiTags('audit')
@ApiBearerAuth()
@Controller('projects/:projectId')
export class AuditHttpController {
  constructor(@Inject(ORM) private readonly orm: MikroORM) {}

  private async state(projectId: string, ip: string): Promise<HostState> {
    if (!isIP(ip)) throw new BadRequestException(`${ip} is not an IP address`);
    const rows = await this.orm.em.fork().execute<{ state: string }[]>(`select state from ledger.hosts where project_id = ? and ip = ?`, [projectId, ip]);
    if (!rows.length) throw new NotFoundException(`host ${ip} not found in this project`);
    return unpackState(rows[0].state);
  }

  /** The chain of recorded changes that led to a port's state, each with the rule that applied, in words. */
  @Get('hosts/:ip/ports/:proto/:port/explain')
  @Access('project.read', { projectParam: 'projectId' })
  async explain(@Param('projectId') projectId: string, @Param('ip') ip: string, @Param('proto') proto: string, @Param('port', ParseIntPipe) port: number) {
    if (!PROTOCOLS.includes(proto as Protocol)) throw new BadRequestException(`proto must be one of ${PROTOCOLS.join(', ')}`);
    const s = await this.state(projectId, ip);
    const rows = await this.orm.em.fork().execute<HistoryRow[]>(
      `select h.*, p.source, p.mode, p.actor, p.run from ledger.history h left join ledger.provenance p on p.event_id = h.event_id
        where h.project_id = ? and h.ip = ? and ((h.proto = ? and h.port = ?) or (h.field = 'host' and h.port is null)) order by h.id`,
      [projectId, ip, proto, port],
    );
    const changes = rows.map(toChange);
    const rec = s.ports[`${proto as Protocol}/${port}`];
    return {
      ip, proto, port,
      current: rec ? { state: rec.state, cause: rec.cause, service: Object.fromEntries(Object.entries(rec.service).map(([k, f]) => [k, f?.value])) } : null,
      classification: classifyPort(s, proto as Protocol, port),
      chain: explainPort(changes),
      changes,
    };
  }

  private async moment(projectId: string, v: string, now: Date): Promise<Date> {
    if (v === 'now') return now;
    const d = /^(\d+)([smhdw])$/.exec(v);
    if (d) return new Date(now.getTime() - Number(d[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[d[2] as 's']! * 1000);
    if (/^[0-9a-f-]{36}$/.test(v)) {
      const rows = await this.orm.em.fork().execute<{ completed_at: Date | null }[]>(`select completed_at from ledger.imports where id = ? and project_id = ?`, [v, projectId]);
      if (!rows.length) {
        // A scan: right after its last result was applied, on the project's clock.
        const scan = await this.orm.em.fork().execute<{ at: Date }[]>(
          `select at from ledger.source_cuts where project_id = ? and source_id = ?`,
          [projectId, `scan:${v}`],
        );
        if (scan.length) return new Date(scan[0].at);
        throw new NotFoundException(`no import or scan ${v} in this project`);
      }
      if (!rows[0].completed_at) throw new BadRequestException(`import ${v} has not been applied yet`);
      return new Date(rows[0].completed_at);
    }
    const t = new Date(v);
    if (Number.isNaN(t.getTime())) throw new BadRequestException(`${v} is not a time`);
    return t;
  }

  /**
   * What changed between two moments (times, durations back from now, or import ids meaning right
   * after that import was applied): each field's first old value against its last new value, so a
   * port closed and reopened in between does not show.
   */
  @Get('diff')
  @Access('project.read', { projectParam: 'projectId' })
  async diff(@Param('projectId') projectId: string, @Query() q: DiffQueryDto, @Res({ passthrough: true }) res: ServerResponse) {
    const now = new Date();
    const from = await this.moment(projectId, q.from, now);
    const to = await this.moment(projectId, q.to ?? 'now', now);
    if (to < from) throw new BadRequestException('to is before from');
    const rows = await this.orm.em.fork().execute<HistoryRow[]>(
      `select h.ip, h.proto, h.port, h.field, h.key, h.old, h.new from ledger.history h join ledger.provenance p on p.event_id = h.event_id
        where h.project_id = ? and p.occurred_at > ? and p.occurred_at <= ? order by h.id`,
      [projectId, from, to],
    );
    const net = new Map<string, { ip: string; proto: string | null; port: number | null; field: string; key: string | null; old: unknown; new: unknown }>();
    for (const r of rows) {
      const k = `${r.ip}|${r.proto}|${r.port}|${r.field}|${r.key}|${r.field === 'hostname' ? JSON.stringify(r.old ?? r.new) : ''}`;
      const cur = net.get(k);
      if (cur) cur.new = r.new;
      else net.set(k, { ip: r.ip, proto: r.proto, port: r.port, field: r.field, key: r.key, old: r.old, new: r.new });
    }
    const changed = [...net.values()].filter((c) => JSON.stringify(c.old) !== JSON.stringify(c.new));
    const open = (v: unknown) => v === 'open';
    const out = {
      from: from.toISOString(),
      to: to.toISOString(),
      hostsAppeared: changed.filter((c) => c.field === 'host' && c.new === 'present').map((c) => c.ip),
      hostsDisappeared: changed.filter((c) => c.field === 'host' && c.new !== 'present').map((c) => c.ip),
      portsOpened: changed.filter((c) => c.field === 'state' && open(c.new)).map(({ ip, proto, port, old }) => ({ ip, proto, port, was: old })),
      portsClosed: changed.filter((c) => c.field === 'state' && open(c.old) && !open(c.new)).map(({ ip, proto, port, new: now2 }) => ({ ip, proto, port, now: now2 })),
      serviceChanges: changed.filter((c) => c.field.startsWith('service.') || c.field === 'cpes').map(({ ip, proto, port, field, old, new: n }) => ({ ip, proto, port, field, old, new: n })),
      scriptChanges: changed.filter((c) => c.field === 'script').map(({ ip, proto, port, key }) => ({ ip, proto, port, script: key })),
      hostnamesAdded: changed.filter((c) => c.field === 'hostname' && c.new !== null).map((c) => ({ ip: c.ip, name: c.new })),
      hostnamesRemoved: changed.filter((c) => c.field === 'hostname' && c.new === null).map((c) => ({ ip: c.ip, name: c.old })),
    };
    if (q.format !== 'text') return out;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    // ndiff-like: one block per host, + for what appeared or opened, - for what went away.
    const lines: string[] = [`-Falcoria ledger ${out.from}`, `+Falcoria ledger ${out.to}`, ''];
    const ips = [...new Set(changed.map((c) => c.ip))].sort();
    for (const ip of ips) {
      lines.push(`${out.hostsAppeared.includes(ip) ? '+' : out.hostsDisappeared.includes(ip) ? '-' : ' '}${ip}:`);
      for (const c of changed.filter((x) => x.ip === ip && x.field !== 'host')) {
        const where = c.port !== null ? `${c.port}/${c.proto}` : '';
        if (c.old !== null && c.old !== undefined) lines.push(`-  ${where} ${c.field}${c.key ? ` ${c.key}` : ''} ${JSON.stringify(c.old)}`.replace(/ +/g, ' '));
        if (c.new !== null && c.new !== undefined) lines.push(`+  ${where} ${c.field}${c.key ? ` ${c.key}` : ''} ${JSON.stringify(c.new)}`.replace(/ +/g, ' '));
      }
    }
    return lines.join('\n') + '\n';
  }

  /** What was scanned for each known host and protocol, and when: never-scanned and stale ranges stand out. */
  @Get('coverage')
  @Access('project.read', { projectParam: 'projectId' })
  async coverage(@Param('projectId') projectId: string, @Query() q: CoverageQueryDto) {
    const rows = await this.orm.em.fork().execute<{ ip: string; state: string }[]>(`select ip, state from ledger.hosts where project_id = ? and not deleted order by ip::inet`, [projectId]);
    return {
      staleBefore: q.staleBefore ?? null,
      hosts: rows.map((r) => {
        const s = unpackState(r.state);
        const byProto = Object.fromEntries(
          PROTOCOLS.map((p) => {
            const recs = s.coverage.filter((c) => c.proto === p);
            const scanned = recs.flatMap((c) => c.ranges.map(([lo, hi]) => ({ from: lo, to: hi, at: c.observedAt, source: c.sourceId, stale: q.staleBefore ? c.observedAt < q.staleBefore : false })));
            return [p, { scanned, neverScanned: gaps(recs.flatMap((c) => c.ranges)) }];
          }),
        );
        return { ip: s.ip, protocols: byProto };
      }),
    };
  }

  /**
   * Server-Sent Events of the project's ledger changes. The event id is the change's position; a
   * client that reconnects with Last-Event-ID gets exactly what it missed (one project's changes
   * are written by one consumer, in id order).
   */
  @Get('changes/stream')
  @Access('project.read', { projectParam: 'projectId' })
  async stream(@Param('projectId') projectId: string, @Req() req: IncomingMessage, @Res() res: ServerResponse, @Query('after') afterQ?: string) {
    const header = req.headers['last-event-id'];
    const start = typeof header === 'string' && /^\d+$/.test(header) ? header : afterQ && /^\d+$/.test(afterQ) ? afterQ : null;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let last = start ?? (await this.orm.em.fork().execute<{ m: string | null }[]>(`select max(id) as m from ledger.history where project_id = ?`, [projectId]))[0].m ?? '0';
    res.write(`retry: 2000\n: stream from ${last}\n\n`);
    let open = true;
    req.on('close', () => (open = false));
    while (open) {
      const rows = await readChangeFeed(this.orm.em.fork(), projectId, last, { limit: 500 });
      for (const c of rows) {
        res.write(`id: ${c.id}\nevent: change\ndata: ${JSON.stringify(c)}\n\n`);
        last = c.id;
      }
      if (rows.length < 500) {
        res.write(': keep-alive\n\n');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    res.end();
  }
}

/** Port ranges 1-65535 not covered by any of the given ranges. */
function gaps(ranges: readonly (readonly [number, number])[]): { from: number; to: number }[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: { from: number; to: number }[] = [];
  let next = 1;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push({ from: next, to: lo - 1 });
    next = Math.max(next, hi + 1);
  }
  if (next <= 65535) out.push({ from: next, to: 65535 });
  return out;
}
