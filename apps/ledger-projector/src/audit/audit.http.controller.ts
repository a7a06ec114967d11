import type { ServerResponse, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, ParseIntPipe, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import { IsISO8601, IsOptional } from 'class-validator';
import type { Protocol } from '#events';
import { classifyPort, explainPort, type Change, type HostState } from '#domain';
import { Access, ORM } from '#platform';
import { unpackState } from '../projection/state-codec.js';

export class CoverageQueryDto {
  @IsOptional() @IsISO8601() staleBefore?: string;
}

const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp', 'ip'];

type HistoryRow = Record<string, any>;
const toChange = (r: HistoryRow): Change => ({
  ip: r.ip, proto: r.proto ?? undefined, port: r.port ?? undefined, field: r.field, key: r.key ?? undefined, old: r.old, new: r.new, rule: r.rule,
  eventId: r.event_id, observedAt: new Date(r.observed_at).toISOString(), source: r.source, mode: r.mode, actor: r.actor, run: r.run, recorded: true,
});

@ApiTags('audit')
@ApiBearerAuth()
@Controller('projects/:projectId')
export class AuditHttpController {
  constructor(@Inject(ORM) private readonly orm: MikroORM) {}

  private async state(projectId: string, ip: string): Promise<HostState> {
    if (!isIP(ip)) throw new BadRequestException(`${ip} is not an IP address`);
    const rows = await this.orm.em.fork().execute<{ state: HostState }[]>(`select state from ledger.hosts where project_id = ? and ip = ?`, [projectId, ip]);
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

  /** What was scanned for each known host and protocol, and when: never-scanned and stale ranges stand out. */
  @Get('coverage')
  @Access('project.read', { projectParam: 'projectId' })
  async coverage(@Param('projectId') projectId: string, @Query() q: CoverageQueryDto) {
    const rows = await this.orm.em.fork().execute<{ ip: string; state: HostState }[]>(`select ip, state from ledger.hosts where project_id = ? and not deleted order by ip::inet`, [projectId]);
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
      const rows = await this.orm.em.fork().execute<HistoryRow[]>(
        `select h.*, p.source, p.mode, p.actor, p.run from ledger.history h left join ledger.provenance p on p.event_id = h.event_id
          where h.project_id = ? and h.id > ? order by h.id limit 500`,
        [projectId, last],
      );
      for (const r of rows) {
        const { id, project_id: _p, ...rest } = r;
        res.write(`id: ${id}\nevent: change\ndata: ${JSON.stringify({ version: 1, ...toChange(rest), id: String(id) })}\n\n`);
        last = String(id);
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
