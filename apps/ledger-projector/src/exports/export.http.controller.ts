import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import { IsIn, IsOptional } from 'class-validator';
import type { HostState } from '#domain';
import { Access, ORM } from '#platform';
import { checkCidr, HostFiltersDto, hostWhere } from '../hosts/host-filters.js';
import { unpackState } from '../projection/state-codec.js';
import { hostDetail } from '../hosts/host-view.js';
import { HostScopeReader } from '../hosts/host-scope.reader.js';
import { hostIsUp, hostXml, NMAP_XML_HEAD, NMAP_XML_TAIL } from './nmap-xml.writer.js';

export class ExportQueryDto extends HostFiltersDto {
  @IsOptional() @IsIn(['xml', 'json', 'csv', 'ipport'])
  format?: 'xml' | 'json' | 'csv' | 'ipport';
}

const CONTENT: Record<string, string> = { xml: 'application/xml', json: 'application/json', csv: 'text/csv', ipport: 'text/plain' };
const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // A leading = + - @ makes spreadsheets run formulas; quote and prefix to keep it text.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
};

@ApiTags('exports')
@ApiBearerAuth()
@Controller('projects/:projectId')
export class ExportHttpController {
  constructor(
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(HostScopeReader) private readonly scope: HostScopeReader,
  ) {}

  /** The live scope page by page, or the scope as of a cut, both in address order. */
  private async *states(projectId: string, q: ExportQueryDto): AsyncGenerator<HostState> {
    const cut = await this.scope.cut(projectId, q.asOf);
    if (cut) {
      yield* this.scope.hosts(projectId, cut, q);
      return;
    }
    const w = hostWhere(projectId, q);
    const em = this.orm.em.fork();
    let after: string | null = null;
    for (;;) {
      const params = [...w.params];
      let sql = `select h.ip, h.state from ledger.hosts h where ${w.sql}`;
      if (after) {
        sql += ' and h.ip::inet > ?::inet';
        params.push(after);
      }
      sql += ' order by h.ip::inet limit 500';
      const rows = await em.execute<{ ip: string; state: string }[]>(sql, params);
      if (!rows.length) return;
      for (const r of rows) yield unpackState(r.state);
      after = rows[rows.length - 1].ip;
    }
  }

  /** Streams the scope page by page: memory stays flat whatever the project size. */
  @Get('export')
  @Access('project.read', { projectParam: 'projectId' })
  @ApiProduces('application/xml', 'application/json', 'text/csv', 'text/plain')
  async export(@Param('projectId') projectId: string, @Query() q: ExportQueryDto, @Res() res: ServerResponse) {
    checkCidr(q.cidr);
    const format = q.format ?? 'xml';
    // Resolve the cut before the first byte, so a bad asOf is still a clean 4xx.
    const hosts = this.states(projectId, q);
    const first = await hosts.next();
    res.statusCode = 200;
    res.setHeader('content-type', `${CONTENT[format]}; charset=utf-8`);
    res.setHeader('content-disposition', `attachment; filename="falcoria-${projectId}.${format === 'ipport' ? 'txt' : format}"`);
    const put = async (s: string) => {
      if (!res.write(s)) await once(res, 'drain');
    };
    const now = Math.floor(Date.now() / 1000);
    if (format === 'xml') await put(NMAP_XML_HEAD(now));
    if (format === 'json') await put('{"hosts":[\n');
    if (format === 'csv') await put('ip,hostnames,proto,port,state,service,product,version,extrainfo\n');
    let count = 0;
    let up = 0;
    for (let r = first; !r.done; r = await hosts.next()) {
      const s = r.value;
      if (format === 'xml') {
        await put(hostXml(s));
        if (hostIsUp(s)) up++;
      } else if (format === 'json') await put((count ? ',\n' : '') + JSON.stringify(hostDetail(s)));
      else {
        const ports = Object.values(s.ports).filter((p) => p.state === 'open' && (q.port === undefined || p.port === q.port) && (!q.proto || p.proto === q.proto));
        for (const p of ports) {
          if (format === 'ipport') await put(`${s.ip.includes(':') ? `[${s.ip}]` : s.ip}:${p.port}\n`);
          else
            await put(
              [s.ip, Object.keys(s.hostnames).join(' '), p.proto, p.port, p.state, p.service.name?.value, p.service.product?.value, p.service.version?.value, p.service.extrainfo?.value]
                .map(csvCell)
                .join(',') + '\n',
            );
        }
      }
      count++;
    }
    if (format === 'xml') await put(NMAP_XML_TAIL(now, count, up));
    if (format === 'json') await put('\n]}\n');
    res.end();
  }
}
