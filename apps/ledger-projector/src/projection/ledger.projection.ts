import { createHash } from 'node:crypto';
import { assertUnreachable, Topics, type Envelope, type HostDeletedV1, type HostObservedV1, type LedgerEvent, type ProjectEvent } from '#events';
import { advanceClock, foldHostDeleted, foldObservation, type Change, type FoldOutcome, type HostState } from '#domain';
import { sql, type ConsumedEvent, type Em, type Projection } from '#platform';
import { LEDGER_MIGRATIONS } from './ledger.schema.js';
import { packState, unpackState } from './state-codec.js';

const OUTCOME_RANK: Record<FoldOutcome, number> = { skipped: 0, unchanged: 1, updated: 2, created: 3 };

function portRows(projectId: string, s: HostState) {
  return Object.values(s.ports).map((p) => ({
    project_id: projectId,
    ip: s.ip,
    proto: p.proto,
    port: p.port,
    state: p.state,
    service: p.service.name?.value ?? null,
    product: p.service.product?.value ?? null,
    version: p.service.version?.value ?? null,
    extrainfo: p.service.extrainfo?.value ?? null,
    tunnel: p.service.tunnel?.value ?? null,
    cpes: p.cpes?.value ?? [],
  }));
}

function hostRow(projectId: string, s: HostState, pos: string) {
  return {
    project_id: projectId,
    pos,
    ip: s.ip,
    state: packState(s),
    deleted: s.deleted,
    first_seen: s.firstSeen,
    last_seen: s.lastSeen,
    open_count: s.deleted ? 0 : Object.values(s.ports).filter((p) => p.state === 'open').length,
    hostnames: Object.keys(s.hostnames),
    os: s.os?.value.matches[0]?.name ?? null,
  };
}

/**
 * Applies a run of events of one partition. Host states are read once per batch and written once
 * per batch with set-based SQL, which is what lets one partition fold thousands of hosts a second.
 */
class LedgerBatch {
  private readonly states = new Map<string, HostState | null>(); // `${project}|${ip}`
  private readonly dirty = new Set<string>();
  /** Last log position that touched each dirty host. */
  private readonly lastPos = new Map<string, string>();
  /** Each project's clock: the running maximum of its host events' times (see advanceClock). */
  private readonly clocks = new Map<string, string | null>();
  /** The last position of each import or scan, so "as of <import id>" finds its cut. */
  private readonly cuts = new Map<string, { project_id: string; source_id: string; pos: string; at: string }>();
  private history: Record<string, unknown>[] = [];
  private readonly provenance = new Map<string, Record<string, unknown>>();
  private trail: Record<string, unknown>[] = [];
  private importHosts = new Map<string, { import_id: string; ip: string; outcome: number }>();
  private importTotals = new Map<string, { opened: number; closed: number; changes: number }>();

  constructor(private readonly em: Em) {}

  async load(events: readonly Envelope[]): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const e of events) {
      if (e.type !== 'HostObserved' && e.type !== 'HostDeleted') continue;
      const p = e.payload as HostObservedV1 | HostDeletedV1;
      const ip = 'host' in p ? p.host.ip : p.ip;
      if (this.states.has(`${p.projectId}|${ip}`)) continue;
      let set = wanted.get(p.projectId);
      if (!set) wanted.set(p.projectId, (set = new Set()));
      set.add(ip);
    }
    for (const [projectId, ips] of wanted) {
      if (!this.clocks.has(projectId)) {
        const [c] = await sql<{ at: Date | null }>(this.em, `select max(at) as at from host_events where project_id = ?`, [projectId]);
        this.clocks.set(projectId, c?.at ? new Date(c.at).toISOString() : null);
      }
      for (const ip of ips) this.states.set(`${projectId}|${ip}`, null);
      const rows = await sql<{ ip: string; state: string }>(this.em, `select ip, state from hosts where project_id = ? and ip in (select jsonb_array_elements_text(?::jsonb))`, [projectId, JSON.stringify([...ips])]);
      for (const r of rows) this.states.set(`${projectId}|${r.ip}`, unpackState(r.state));
    }
  }

  private record(projectId: string, e: Envelope, ip: string, changes: readonly Change[], pos: string, sourceId: string | null) {
    for (const c of changes) {
      if (!c.recorded) continue;
      this.history.push({
        project_id: projectId, ip: c.ip, proto: c.proto ?? null, port: c.port ?? null, field: c.field, key: c.key ?? null,
        old: c.old, new: c.new, rule: c.rule, event_id: c.eventId, observed_at: c.observedAt,
      });
      // Provenance is the same for every change of one event: stored once, joined on read.
      if (!this.provenance.has(c.eventId)) this.provenance.set(c.eventId, { event_id: c.eventId, source: c.source, mode: c.mode, actor: c.actor, run: c.run, occurred_at: e.occurredAt });
    }
    const at = advanceClock(this.clocks.get(projectId) ?? null, e.occurredAt);
    this.clocks.set(projectId, at);
    this.trail.push({ project_id: projectId, ip, event_id: e.eventId, type: e.type, occurred_at: e.occurredAt, event: e, pos, at, source_id: sourceId });
    this.lastPos.set(`${projectId}|${ip}`, pos);
    if (sourceId) this.cuts.set(`${projectId}|${sourceId}`, { project_id: projectId, source_id: sourceId, pos, at });
  }

  observe(e: Envelope<'HostObserved', HostObservedV1>, pos: string): void {
    const p = e.payload;
    const key = `${p.projectId}|${p.host.ip}`;
    const r = foldObservation(this.states.get(key) ?? null, p, { eventId: e.eventId, occurredAt: e.occurredAt, actor: e.actor });
    this.states.set(key, r.state);
    this.dirty.add(key);
    this.record(p.projectId, e, p.host.ip, r.changes, pos, p.source.kind === 'import' ? `import:${p.source.importId}` : `scan:${p.source.scanId}`);
    if (p.source.kind === 'import') {
      const id = p.source.importId;
      const k = `${id}|${p.host.ip}`;
      const rank = OUTCOME_RANK[r.outcome];
      const prev = this.importHosts.get(k);
      if (!prev || rank > prev.outcome) this.importHosts.set(k, { import_id: id, ip: p.host.ip, outcome: rank });
      const t = this.importTotals.get(id) ?? { opened: 0, closed: 0, changes: 0 };
      t.opened += r.portsOpened;
      t.closed += r.portsClosed;
      t.changes += r.changes.length;
      this.importTotals.set(id, t);
    }
  }

  deleteHost(e: Envelope<'HostDeleted', HostDeletedV1>, pos: string): void {
    const key = `${e.payload.projectId}|${e.payload.ip}`;
    const s = this.states.get(key);
    if (!s) return;
    const r = foldHostDeleted(s, { eventId: e.eventId, occurredAt: e.occurredAt, actor: e.actor });
    this.states.set(key, r.state);
    this.dirty.add(key);
    this.record(e.payload.projectId, e, e.payload.ip, r.changes, pos, null);
  }

  async flush(): Promise<void> {
    const em = this.em;
    if (this.dirty.size > 0) {
      const hosts: ReturnType<typeof hostRow>[] = [];
      const ports: ReturnType<typeof portRows> = [];
      const keys: { project_id: string; ip: string }[] = [];
      for (const key of this.dirty) {
        const s = this.states.get(key)!;
        const projectId = key.slice(0, key.indexOf('|'));
        hosts.push(hostRow(projectId, s, this.lastPos.get(key)!));
        keys.push({ project_id: projectId, ip: s.ip });
        if (!s.deleted) ports.push(...portRows(projectId, s));
      }
      await sql(em, 
        `insert into hosts (project_id, ip, state, deleted, first_seen, last_seen, open_count, hostnames, os, first_pos, last_pos)
         select project_id, ip, state, deleted, first_seen, last_seen, open_count, hostnames, os, pos, pos
           from json_to_recordset(?::json) as x(project_id text, ip text, state text, deleted boolean, first_seen timestamptz, last_seen timestamptz, open_count int, hostnames text[], os text, pos bigint)
         on conflict (project_id, ip) do update set state = excluded.state, deleted = excluded.deleted, first_seen = excluded.first_seen,
           last_seen = excluded.last_seen, open_count = excluded.open_count, hostnames = excluded.hostnames, os = excluded.os, last_pos = excluded.last_pos`,
        [JSON.stringify(hosts)],
      );
      await sql(em, 
        `delete from host_ports hp using json_to_recordset(?::json) as x(project_id text, ip text) where hp.project_id = x.project_id and hp.ip = x.ip`,
        [JSON.stringify(keys)],
      );
      if (ports.length)
        await sql(em, 
          `insert into host_ports (project_id, ip, proto, port, state, service, product, version, extrainfo, tunnel, cpes)
           select project_id, ip, proto, port, state, service, product, version, extrainfo, tunnel, cpes
             from json_to_recordset(?::json) as x(project_id text, ip text, proto text, port int, state text, service text, product text, version text, extrainfo text, tunnel text, cpes text[])`,
          [JSON.stringify(ports)],
        );
      this.dirty.clear();
      this.lastPos.clear();
    }
    if (this.history.length) {
      await sql(em, 
        `insert into history (project_id, ip, proto, port, field, key, old, new, rule, event_id, observed_at)
         select project_id, ip, proto, port, field, key, old, new, rule, event_id, observed_at
           from json_to_recordset(?::json) as x(project_id text, ip text, proto text, port int, field text, key text, old jsonb, new jsonb, rule text, event_id text, observed_at timestamptz)`,
        [JSON.stringify(this.history)],
      );
      await sql(em, 
        `insert into provenance (event_id, source, mode, actor, run, occurred_at)
         select event_id, source, mode, actor, run, occurred_at from json_to_recordset(?::json) as x(event_id text, source jsonb, mode text, actor jsonb, run jsonb, occurred_at timestamptz)
         on conflict (event_id) do nothing`,
        [JSON.stringify([...this.provenance.values()])],
      );
      this.provenance.clear();
      this.history = [];
    }
    if (this.trail.length) {
      await sql(em, 
        `insert into host_events (project_id, ip, event_id, type, occurred_at, event, pos, at, source_id)
         select project_id, ip, event_id, type, occurred_at, event, pos, at, source_id
           from json_to_recordset(?::json) as x(project_id text, ip text, event_id text, type text, occurred_at timestamptz, event text, pos bigint, at timestamptz, source_id text)`,
        [JSON.stringify(this.trail)],
      );
      this.trail = [];
    }
    if (this.cuts.size) {
      await sql(em,
        `insert into source_cuts (project_id, source_id, pos, at) select project_id, source_id, pos, at from json_to_recordset(?::json) as x(project_id text, source_id text, pos bigint, at timestamptz)
         on conflict (project_id, source_id) do update set pos = excluded.pos, at = excluded.at`,
        [JSON.stringify([...this.cuts.values()])],
      );
      this.cuts.clear();
    }
    if (this.importHosts.size) {
      await sql(em, 
        `insert into import_hosts (import_id, ip, outcome) select import_id, ip, outcome from json_to_recordset(?::json) as x(import_id text, ip text, outcome smallint)
         on conflict (import_id, ip) do update set outcome = greatest(import_hosts.outcome, excluded.outcome)`,
        [JSON.stringify([...this.importHosts.values()])],
      );
      this.importHosts.clear();
    }
    for (const [id, t] of this.importTotals)
      await sql(em, `update imports set ports_opened = ports_opened + ?, ports_closed = ports_closed + ?, changes = changes + ? where id = ?`, [t.opened, t.closed, t.changes, id]);
    this.importTotals.clear();
  }
}

async function applyLedgerEvent(em: Em, e: LedgerEvent, pos: string, batch: LedgerBatch): Promise<void> {
  switch (e.type) {
    case 'HostObserved':
      batch.observe(e, pos);
      return;
    case 'HostDeleted':
      batch.deleteHost(e, pos);
      return;
    case 'ImportStarted': {
      await batch.flush();
      const p = e.payload;
      await sql(em, 
        `insert into imports (id, project_id, file_name, sha256, mode, track_history, force, status, actor, started_at) values (?, ?, ?, ?, ?, ?, ?, 'applying', ?, ?)
         on conflict (id) do nothing`,
        [p.importId, p.projectId, p.fileName, p.fileSha256, p.mode, p.trackHistory, p.force, JSON.stringify(e.actor), e.occurredAt],
      );
      return;
    }
    case 'ImportCompleted':
      await batch.flush();
      await sql(em, `update imports set status = 'completed', completed_at = ?, host_count = ?, run = ? where id = ?`, [e.occurredAt, e.payload.hostCount, JSON.stringify(e.payload.run), e.payload.importId]);
      return;
    case 'ImportFailed':
      // Only an import still applying fails: one whose commit was acknowledged too late for its
      // publisher may be followed by an ImportFailed, and it stays completed.
      await batch.flush();
      await sql(em, `update imports set status = 'failed', completed_at = ?, reason = ? where id = ? and status = 'applying'`, [e.occurredAt, e.payload.reason, e.payload.importId]);
      return;
    default:
      assertUnreachable(e);
  }
}

async function applyProjectEvent(em: Em, e: ProjectEvent): Promise<void> {
  const at = e.occurredAt;
  switch (e.type) {
    case 'ProjectCreated':
      await sql(em, `insert into projects(id, name, comment, owner_id, created_at, updated_at) values (?, ?, ?, ?, ?, ?) on conflict (id) do nothing`, [
        e.payload.projectId, e.payload.name, e.payload.comment, e.payload.ownerId, at, at,
      ]);
      await sql(em, `insert into project_members(project_id, user_id, role, updated_at) values (?, ?, 'owner', ?) on conflict do nothing`, [e.payload.projectId, e.payload.ownerId, at]);
      return;
    case 'ProjectUpdated':
      await sql(em, `update projects set name = coalesce(?, name), comment = case when ? then ? else comment end, updated_at = ? where id = ?`, [
        e.payload.name ?? null, e.payload.comment !== undefined, e.payload.comment ?? null, at, e.payload.projectId,
      ]);
      return;
    case 'ProjectDeleted': {
      const id = e.payload.projectId;
      await sql(em, `update projects set deleted_at = ?, updated_at = ? where id = ? and deleted_at is null`, [at, at, id]);
      await sql(em, `delete from provenance where event_id in (select event_id from history where project_id = ?)`, [id]);
      for (const t of ['project_members', 'hosts', 'host_ports', 'history', 'host_events', 'source_cuts']) await sql(em, `delete from ${t} where project_id = ?`, [id]);
      await sql(em, `delete from import_hosts where import_id in (select id from imports where project_id = ?)`, [id]);
      await sql(em, `delete from imports where project_id = ?`, [id]);
      return;
    }
    case 'MemberAdded':
    case 'MemberRoleChanged': {
      const role = e.type === 'MemberAdded' ? e.payload.role : e.payload.to;
      await sql(em, 
        `insert into project_members(project_id, user_id, role, updated_at) values (?, ?, ?, ?) on conflict (project_id, user_id) do update set role = excluded.role, updated_at = excluded.updated_at`,
        [e.payload.projectId, e.payload.userId, role, at],
      );
      return;
    }
    case 'MemberRemoved':
      await sql(em, `delete from project_members where project_id = ? and user_id = ?`, [e.payload.projectId, e.payload.userId]);
      return;
    case 'ProjectScopeSet':
      return;
    // Webhook registrations live in the access view; delivery state is operational (schema webhooks).
    case 'WebhookRegistered':
    case 'WebhookRemoved':
    case 'WebhookEnabled':
    case 'WebhookDisabled':
      return;
    default:
      assertUnreachable(e);
  }
}

export const ledgerProjection: Projection = {
  name: 'ledger',
  migrations: LEDGER_MIGRATIONS,
  async apply(em, events: readonly ConsumedEvent[]) {
    const batch = new LedgerBatch(em);
    await batch.load(events.map((c) => c.event!));
    for (const c of events) {
      const e = c.event!;
      if (c.topic.endsWith(Topics.projects.name)) await applyProjectEvent(em, e as ProjectEvent);
      else if (c.topic.endsWith(Topics.ledger.name)) await applyLedgerEvent(em, e as LedgerEvent, c.offset, batch);
    }
    await batch.flush();
  },
  async onDeadLetter(em, c) {
    const e = c.event as LedgerEvent;
    if (e.type === 'HostObserved' && e.payload.source.kind === 'import')
      await sql(em, `update imports set dead_lettered = dead_lettered + 1 where id = ?`, [e.payload.source.importId]);
  },
  /**
   * Digest of every read model row that the log determines. Serial ids are left out and rows are
   * ordered within a project: partitions apply in parallel, so ids interleave differently across
   * projects between a live run and a replay, but never within one project (one partition).
   */
  async checksum(em) {
    const h = createHash('sha256');
    const queries = [
      `select id, name, comment, owner_id, created_at, updated_at, deleted_at from projects order by id`,
      `select project_id, user_id, role from project_members order by project_id, user_id`,
      `select id, project_id, sha256, mode, status, host_count, ports_opened, ports_closed, changes, dead_lettered from imports order by id`,
      `select project_id, ip, state::text, deleted, open_count, first_pos, last_pos from hosts order by project_id, ip`,
      `select * from host_ports order by project_id, ip, proto, port`,
      `select project_id, ip, proto, port, field, key, old::text, new::text, rule, event_id from history order by project_id, id`,
      `select event_id, source::text, mode, actor::text, run::text, occurred_at from provenance order by event_id`,
      `select project_id, ip, event_id, type, pos, at, source_id from host_events order by project_id, seq`,
      `select * from source_cuts order by project_id, source_id`,
    ];
    for (const q of queries) for (const row of await sql(em, q)) h.update(JSON.stringify(row));
    return h.digest('hex');
  },
};
