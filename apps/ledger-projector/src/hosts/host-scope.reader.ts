import { isIP } from 'node:net';
import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import { hostMatches, replayHost, type HostEvent, type HostQuery, type HostState } from '#domain';
import { ORM, quoteIdent, sql, type Em } from '#platform';
import { unpackState } from '../projection/state-codec.js';

/** A point in a project's log: every host event at or before `pos` is in, nothing after it. */
export interface Cut {
  readonly pos: number;
  /** What the caller asked for, echoed in answers. */
  readonly asOf: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHUNK = 200;

/**
 * Reads a project's hosts now or as of a moment. The past is derived from each host's event trail,
 * folded up to the cut with the projector's own fold; a host untouched since the cut is read from
 * the live model, which equals that fold.
 */
export class HostScope {
  protected readonly schema: string;

  constructor(
    protected readonly orm: MikroORM,
    schema = 'ledger',
  ) {
    this.schema = quoteIdent(schema);
  }

  /** Turns `asOf` (an ISO time, or an import/scan id meaning "right after it was applied") into a cut. */
  async cut(projectId: string, asOf: string | undefined, em: Em = this.orm.em.fork()): Promise<Cut | null> {
    if (asOf === undefined || asOf === '') return null;
    if (UUID.test(asOf)) {
      const rows = await sql<{ pos: string }>(em, `select pos from ${this.schema}.source_cuts where project_id = ? and source_id in (?, ?)`, [projectId, `import:${asOf}`, `scan:${asOf}`]);
      if (!rows.length) throw new NotFoundException(`no import or scan ${asOf} has been applied to this project`);
      return { pos: Number(rows[0].pos), asOf };
    }
    const t = Date.parse(asOf);
    if (!/^\d{4}-\d{2}-\d{2}/.test(asOf) || Number.isNaN(t)) throw new BadRequestException('asOf must be an ISO 8601 time (e.g. 2026-11-20T10:00:00Z) or an import or scan id');
    const rows = await sql<{ pos: string }>(em,
      `select pos from ${this.schema}.host_events where project_id = ? and at <= ? order by at desc, pos desc limit 1`,
      [projectId, new Date(t).toISOString()],
    );
    return { pos: rows.length ? Number(rows[0].pos) : -1, asOf };
  }

  private async replay(em: Em, projectId: string, ips: readonly string[], cut: Cut): Promise<Map<string, HostState | null>> {
    const out = new Map<string, HostState | null>();
    if (!ips.length) return out;
    const rows = await sql<{ ip: string; event: string }>(em,
      `select ip, event from ${this.schema}.host_events where project_id = ? and ip = any(?::text[]) and pos <= ? order by ip, pos`,
      [projectId, [...ips], cut.pos],
    );
    const trails = new Map<string, HostEvent[]>();
    for (const r of rows) (trails.get(r.ip) ?? trails.set(r.ip, []).get(r.ip)!).push(JSON.parse(r.event) as HostEvent);
    for (const ip of ips) out.set(ip, replayHost(trails.get(ip) ?? []));
    return out;
  }

  /** One host now (cut null) or as of the cut; null when it did not exist or was deleted. */
  async host(projectId: string, ip: string, cut: Cut | null): Promise<HostState | null> {
    const em = this.orm.em.fork();
    const rows = await sql<{ state: string; last_pos: string | null }>(em, `select state, last_pos from ${this.schema}.hosts where project_id = ? and ip = ?`, [projectId, ip]);
    if (!rows.length) return null;
    let s: HostState | null;
    if (!cut || (rows[0].last_pos !== null && Number(rows[0].last_pos) <= cut.pos)) s = unpackState(rows[0].state);
    else s = (await this.replay(em, projectId, [ip], cut)).get(ip) ?? null;
    return s && !s.deleted ? s : null;
  }

  /**
   * Hosts matching `q` in address order, after `after`, as of the cut. Streams in chunks, so a whole
   * project can go through it (exports, facets) with flat memory.
   */
  async *hosts(projectId: string, cut: Cut, q: HostQuery, after?: string, chunk = CHUNK): AsyncGenerator<HostState> {
    if (after !== undefined && !isIP(after)) throw new BadRequestException('cursor must be the nextCursor of the previous page');
    const em = this.orm.em.fork();
    let cursor = after;
    for (;;) {
      const params: unknown[] = [projectId, cut.pos];
      let where = 'project_id = ? and first_pos <= ?';
      if (cursor) (where += ' and ip::inet > ?::inet'), params.push(cursor);
      if (q.cidr) (where += ' and ip::inet <<= ?::cidr'), params.push(q.cidr);
      const rows = await sql<{ ip: string; state: string; last_pos: string }>(em,
        `select ip, state, last_pos from ${this.schema}.hosts where ${where} order by ip::inet limit ${chunk}`,
        params,
      );
      if (!rows.length) return;
      const past = await this.replay(em, projectId, rows.filter((r) => Number(r.last_pos) > cut.pos).map((r) => r.ip), cut);
      for (const r of rows) {
        const s = past.has(r.ip) ? past.get(r.ip)! : unpackState(r.state);
        if (s && hostMatches(s, q)) yield s;
      }
      if (rows.length < chunk) return;
      cursor = rows[rows.length - 1].ip;
    }
  }
}

@Injectable()
export class HostScopeReader extends HostScope {
  constructor(@Inject(ORM) orm: MikroORM) {
    super(orm);
  }

  /** The same reads over another schema of the ledger's tables (a replay's scratch copy). */
  inSchema(schema: string): HostScope {
    return new HostScope(this.orm, schema);
  }
}
