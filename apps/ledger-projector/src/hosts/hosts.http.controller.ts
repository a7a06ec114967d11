import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { Envelope, HostDeletedV1 } from '#events';
import type { HostState, Principal } from '#domain';
import { Access, CurrentPrincipal, ORM, PUBLISHER, type EventPublisher } from '#platform';
import { actorOf } from '../access/access-commands.service.js';
import { checkCidr, HostListQueryDto, hostWhere, SearchRequestDto } from './host-filters.js';
import { facetsOf, hostDetail, hostItem } from './host-view.js';
import { HostScopeReader } from './host-scope.reader.js';

export class HistoryQueryDto {
  @IsOptional() @IsString() @MaxLength(45) ip?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(65535) port?: number;
  @IsOptional() @IsIn(['host', 'state', 'hostname', 'service.name', 'service.product', 'service.version', 'service.extrainfo', 'service.tunnel', 'cpes', 'script']) field?: string;
  @IsOptional() @IsISO8601() since?: string;
  @IsOptional() @IsISO8601() until?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
  @IsOptional() @Matches(/^\d{1,18}$/, { message: 'cursor must be the nextCursor of the previous page' }) cursor?: string;
}

export class AsOfQueryDto {
  @IsOptional() @IsString() @MaxLength(64) asOf?: string;
}

export class DeleteAllQueryDto {
  @IsIn(['true'], { message: 'deleting every host needs confirm=true' }) confirm!: string;
}

const checkIp = (ip: string) => {
  if (!isIP(ip)) throw new BadRequestException(`${ip} is not an IP address`);
};

@ApiTags('hosts')
@ApiBearerAuth()
@Controller('projects/:projectId')
export class HostsHttpController {
  constructor(
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(HostScopeReader) private readonly scope: HostScopeReader,
  ) {}

  private async page(projectId: string, f: HostListQueryDto | SearchRequestDto, matchedOnly = false) {
    checkCidr(f.cidr);
    const limit = f.limit ?? 100;
    const cut = await this.scope.cut(projectId, f.asOf);
    if (cut) {
      const found: HostState[] = [];
      for await (const s of this.scope.hosts(projectId, cut, f, f.cursor, limit + 1)) if (found.push(s) > limit) break;
      const clauses = 'allOf' in f ? [...(f.allOf ?? []), ...(f.anyOf ?? [])] : [];
      const items = found.slice(0, limit).map((s) => hostItem(s, matchedOnly, clauses));
      return { items, nextCursor: found.length > limit ? items[items.length - 1].ip : null, asOf: cut.asOf };
    }
    const w = hostWhere(projectId, f);
    let sql = `select h.ip, h.hostnames, h.os, h.first_seen, h.last_seen, h.open_count from ledger.hosts h where ${w.sql}`;
    const params = [...w.params];
    if (f.cursor) {
      if (!isIP(f.cursor)) throw new BadRequestException('cursor must be the nextCursor of the previous page');
      sql += ' and h.ip::inet > ?::inet';
      params.push(f.cursor);
    }
    sql += ' order by h.ip::inet limit ?';
    params.push(limit + 1);
    const em = this.orm.em.fork();
    const rows = await em.execute<{ ip: string; hostnames: string[]; os: string | null; first_seen: Date; last_seen: Date; open_count: number }[]>(sql, params);
    const more = rows.length > limit;
    const items = rows.slice(0, limit);
    const ports = items.length
      ? await em.execute<{ ip: string; proto: string; port: number; state: string; service: string | null; product: string | null; version: string | null }[]>(
          `select ip, proto, port, state, service, product, version from ledger.host_ports where project_id = ? and ip in (select jsonb_array_elements_text(?::jsonb)) ${matchedOnly ? '' : "and state = 'open'"} order by ip, proto, port`,
          [projectId, JSON.stringify(items.map((i) => i.ip))],
        )
      : [];
    const byIp = new Map<string, typeof ports>();
    for (const p of ports) (byIp.get(p.ip) ?? byIp.set(p.ip, []).get(p.ip)!).push(p);
    const clauses = 'allOf' in f ? [...(f.allOf ?? []), ...(f.anyOf ?? [])] : [];
    const matches = (p: (typeof ports)[number]) =>
      clauses.length === 0 ||
      clauses.some((c) => (c.port === undefined || c.port === p.port) && (!c.proto || c.proto === p.proto) && (!c.service || c.service === p.service) && (!c.product || (p.product ?? '').toLowerCase().includes(c.product.toLowerCase())) && (c.state ? c.state === p.state : p.state === 'open'));
    return {
      items: items.map((h) => ({
        ip: h.ip,
        hostnames: h.hostnames,
        os: h.os,
        openPortCount: h.open_count,
        ports: (byIp.get(h.ip) ?? []).filter((p) => (matchedOnly ? matches(p) : true)).map(({ ip: _ip, ...p }) => p),
        firstSeen: new Date(h.first_seen).toISOString(),
        lastSeen: new Date(h.last_seen).toISOString(),
      })),
      nextCursor: more ? items[items.length - 1].ip : null,
    };
  }

  @Get('hosts')
  @Access('project.read', { projectParam: 'projectId' })
  list(@Param('projectId') projectId: string, @Query() q: HostListQueryDto) {
    return this.page(projectId, q);
  }

  @Post('hosts/search')
  @HttpCode(200)
  @Access('project.read', { projectParam: 'projectId' })
  search(@Param('projectId') projectId: string, @Body() body: SearchRequestDto) {
    return this.page(projectId, body, body.matchedPortsOnly === true);
  }

  @Get('facets')
  @Access('project.read', { projectParam: 'projectId' })
  async facets(@Param('projectId') projectId: string, @Query() q: HostListQueryDto) {
    checkCidr(q.cidr);
    const cut = await this.scope.cut(projectId, q.asOf);
    if (cut) return { ...(await facetsOf(this.scope.hosts(projectId, cut, q))), asOf: cut.asOf };
    const w = hostWhere(projectId, q);
    const em = this.orm.em.fork();
    const top = (col: string) =>
      em.execute<{ value: string; count: string }[]>(
        `select ${col} as value, count(distinct p.ip) as count from ledger.host_ports p join ledger.hosts h on h.project_id = p.project_id and h.ip = p.ip
          where ${w.sql} and p.state = 'open' and ${col} is not null group by 1 order by 2 desc, 1 limit 50`,
        w.params,
      );
    const num = (rows: { value: string; count: string }[]) => rows.map((r) => ({ value: r.value, count: Number(r.count) }));
    const os = await em.execute<{ value: string; count: string }[]>(`select h.os as value, count(*) as count from ledger.hosts h where ${w.sql} and h.os is not null group by 1 order by 2 desc, 1 limit 50`, w.params);
    return {
      port: num(await top(`p.port || '/' || p.proto`)),
      service: num(await top('p.service')),
      product: num(await top('p.product')),
      version: num(await top(`p.product || ' ' || p.version`)),
      os: num(os),
    };
  }

  @Get('hosts/:ip')
  @Access('project.read', { projectParam: 'projectId' })
  async get(@Param('projectId') projectId: string, @Param('ip') ip: string, @Query() q: AsOfQueryDto) {
    checkIp(ip);
    const cut = await this.scope.cut(projectId, q.asOf);
    const s = await this.scope.host(projectId, ip, cut);
    if (!s) throw new NotFoundException(cut ? `host ${ip} was not in this project as of ${cut.asOf}` : `host ${ip} not found in this project`);
    return cut ? { ...hostDetail(s), asOf: cut.asOf } : hostDetail(s);
  }

  @Get('hosts/:ip/events')
  @Access('project.read', { projectParam: 'projectId' })
  async events(@Param('projectId') projectId: string, @Param('ip') ip: string) {
    checkIp(ip);
    const rows = await this.orm.em.fork().execute<{ event: string }[]>(`select event from ledger.host_events where project_id = ? and ip = ? order by seq`, [projectId, ip]);
    if (!rows.length) throw new NotFoundException(`no events for ${ip} in this project`);
    return { items: rows.map((r) => JSON.parse(r.event)) };
  }

  @Get('history')
  @Access('project.read', { projectParam: 'projectId' })
  async history(@Param('projectId') projectId: string, @Query() q: HistoryQueryDto) {
    if (q.ip) checkIp(q.ip);
    const where = ['project_id = ?'];
    const params: unknown[] = [projectId];
    const add = (sql: string, v: unknown) => (where.push(sql), params.push(v));
    if (q.ip) add('ip = ?', q.ip);
    if (q.port !== undefined) add('port = ?', q.port);
    if (q.field) add('field = ?', q.field);
    if (q.since) add('observed_at >= ?', q.since);
    if (q.until) add('observed_at <= ?', q.until);
    if (q.cursor) add('id < ?', q.cursor);
    const limit = q.limit ?? 100;
    const rows = await this.orm.em.fork().execute<Record<string, any>[]>(
      `select h.id, h.ip, h.proto, h.port, h.field, h.key, h.old, h.new, h.rule, h.event_id, h.observed_at, p.source, p.mode, p.actor, p.run
         from ledger.history h left join ledger.provenance p on p.event_id = h.event_id where ${where.map((w) => 'h.' + w).join(' and ')} order by h.id desc limit ?`,
      [...params, limit + 1],
    );
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => ({
      ip: r.ip, proto: r.proto, port: r.port, field: r.field, key: r.key, old: r.old, new: r.new, rule: r.rule,
      eventId: r.event_id, observedAt: new Date(r.observed_at).toISOString(), source: r.source, mode: r.mode, actor: r.actor, run: r.run,
    }));
    return { items, nextCursor: more ? String(rows[limit - 1].id) : null };
  }

  private async deleteHosts(projectId: string, ips: string[], p: Principal) {
    const correlationId = randomUUID();
    const events: Envelope<'HostDeleted', HostDeletedV1>[] = ips.map((ip) => ({
      eventId: randomUUID(), type: 'HostDeleted', schemaVersion: 1, key: projectId, occurredAt: new Date().toISOString(),
      correlationId, causationId: null, actor: actorOf(p), payload: { projectId, ip },
    }));
    for (let i = 0; i < events.length; i += 1000) await this.publisher.publish(events.slice(i, i + 1000));
    return { deleted: ips.length, correlationId };
  }

  @Delete('hosts/:ip')
  @Access('project.write', { projectParam: 'projectId' })
  async remove(@Param('projectId') projectId: string, @Param('ip') ip: string, @CurrentPrincipal() p: Principal) {
    checkIp(ip);
    const rows = await this.orm.em.fork().execute(`select 1 from ledger.hosts where project_id = ? and ip = ? and not deleted`, [projectId, ip]);
    if (!rows.length) throw new NotFoundException(`host ${ip} not found in this project`);
    return this.deleteHosts(projectId, [ip], p);
  }

  @Delete('hosts')
  @Access('project.write', { projectParam: 'projectId' })
  async removeAll(@Param('projectId') projectId: string, @Query() _q: DeleteAllQueryDto, @CurrentPrincipal() p: Principal) {
    const rows = await this.orm.em.fork().execute<{ ip: string }[]>(`select ip from ledger.hosts where project_id = ? and not deleted`, [projectId]);
    return this.deleteHosts(projectId, rows.map((r) => r.ip), p);
  }
}
