import type { LedgerEvent } from '#events';
import { foldCoverage, formatIp, formatRangeList, parseIp, parseRangeList, sourceIdOf, type CoverageSpan } from '#domain';
import { sql, type ConsumedEvent, type Em, type Projection } from '#platform';

// The tasker's own copy of which hosts each project's ledger has and what was scanned on them, folded
// from the ledger topic: planning subtracts that coverage from requests (and insert mode without
// coverage dedup skips known hosts). The tasker never reads the ledger app's tables (the reference
// did, and broke whenever the ledger's schema moved).
export const KNOWN_HOSTS_SCHEMA = 'tasker_ledger';

interface HostState {
  readonly projectId: string;
  readonly ip: string;
  known: boolean;
  /** The source whose observation created the host: its later elements still count in insert mode. */
  appearedBy: string | null;
  lastObservedAt: string | null;
  spans: CoverageSpan[];
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));
const later = (a: string | null, b: string): string => (a === null || Date.parse(b) > Date.parse(a) ? b : a);

export const knownHostsProjection: Projection = {
  name: KNOWN_HOSTS_SCHEMA,
  migrations: [
    `create table known_hosts (
       project_id text not null,
       ip inet not null,
       last_observed_at timestamptz not null,
       primary key (project_id, ip)
     )`,
    // Issue 8: coverage per host and protocol, each port under the latest scan that covered it (as the
    // ledger's fold keeps it); ports is a range list such as "1-1000,8080".
    `alter table known_hosts add column appeared_by text`,
    `create table coverage (
       project_id text not null,
       ip inet not null,
       proto text not null,
       source text not null,
       observed_at timestamptz not null,
       ports text not null,
       primary key (project_id, ip, proto, source)
     )`,
    // Coverage is new: read the ledger topic again from its start, so hosts known before get theirs.
    `truncate known_hosts`,
    `delete from projection_checkpoint`,
  ],
  async apply(em: Em, events: readonly ConsumedEvent[]) {
    const hosts = new Map<string, HostState>();
    // Keyed by the address's value, so the event's spelling and PostgreSQL's always meet.
    const keyOf = (projectId: string, ip: string) => {
      const p = parseIp(ip);
      return { key: p === null ? `${projectId}|${ip}` : `${projectId}|${p.family}:${p.value}`, projectId, ip: p === null ? ip : formatIp(p) };
    };
    const relevant: { e: LedgerEvent; key: string }[] = [];
    for (const c of events) {
      const e = c.event as LedgerEvent;
      if (e.type !== 'HostObserved' && e.type !== 'HostDeleted') continue;
      const k = keyOf(e.payload.projectId, e.type === 'HostObserved' ? e.payload.host.ip : e.payload.ip);
      if (!hosts.has(k.key)) hosts.set(k.key, { projectId: k.projectId, ip: k.ip, known: false, appearedBy: null, lastObservedAt: null, spans: [] });
      relevant.push({ e, key: k.key });
    }
    if (!relevant.length) return;

    // What the schema has for the batch's hosts, read once; the batch is folded in memory, in log order.
    const keys = JSON.stringify([...hosts.values()].map((h) => ({ project_id: h.projectId, ip: h.ip })));
    const batchHosts = `jsonb_to_recordset(cast(? as jsonb)) as x(project_id text, ip text)`;
    const knownRows = await sql<{ project_id: string; ip: string; appeared_by: string | null; last_observed_at: unknown }>(
      em,
      `select k.project_id, host(k.ip) as ip, k.appeared_by, k.last_observed_at from known_hosts k join ${batchHosts} on k.project_id = x.project_id and k.ip = cast(x.ip as inet)`,
      [keys],
    );
    for (const r of knownRows) {
      const h = hosts.get(keyOf(r.project_id, r.ip).key);
      if (h) Object.assign(h, { known: true, appearedBy: r.appeared_by, lastObservedAt: iso(r.last_observed_at) });
    }
    const coverageRows = await sql<{ project_id: string; ip: string; proto: CoverageSpan['proto']; source: string; observed_at: unknown; ports: string }>(
      em,
      `select c.project_id, host(c.ip) as ip, c.proto, c.source, c.observed_at, c.ports from coverage c join ${batchHosts} on c.project_id = x.project_id and c.ip = cast(x.ip as inet)`,
      [keys],
    );
    for (const r of coverageRows) {
      const ranges = parseRangeList(r.ports);
      if (ranges?.length) hosts.get(keyOf(r.project_id, r.ip).key)?.spans.push({ proto: r.proto, ranges, observedAt: iso(r.observed_at)!, source: r.source });
    }

    for (const { e, key } of relevant) {
      const h = hosts.get(key)!;
      if (e.type === 'HostDeleted') {
        Object.assign(h, { known: false, appearedBy: null, spans: [] });
        continue;
      }
      if (e.type !== 'HostObserved') continue;
      const o = e.payload;
      // nmap scans no ports of a down host: it is neither "known" nor covered by that run.
      if (o.host.status?.state?.trim() === 'down') continue;
      const source = sourceIdOf(o.source);
      // The ledger's rule: insert leaves a known host untouched (its coverage included), except for
      // later elements of the run that created it.
      const counts = o.mode !== 'insert' || !h.known || h.appearedBy === source;
      if (!h.known) Object.assign(h, { known: true, appearedBy: source });
      h.lastObservedAt = later(h.lastObservedAt, e.occurredAt);
      if (!counts) continue;
      for (const [proto, ranges] of Object.entries(o.coverage)) {
        if (ranges !== undefined) h.spans = foldCoverage(h.spans, { proto: proto as CoverageSpan['proto'], ranges, observedAt: o.observedAt, source });
      }
    }

    const all = [...hosts.values()];
    const gone = all.filter((h) => !h.known).map((h) => ({ project_id: h.projectId, ip: h.ip }));
    const present = all.filter((h) => h.known).map((h) => ({ project_id: h.projectId, ip: h.ip, at: h.lastObservedAt, appeared_by: h.appearedBy }));
    const spans = all.flatMap((h) => (h.known ? h.spans : []).map((s) => ({ project_id: h.projectId, ip: h.ip, proto: s.proto, source: s.source, observed_at: s.observedAt, ports: formatRangeList(s.ranges) })));
    if (gone.length) await sql(em, `delete from known_hosts k using ${batchHosts} where k.project_id = x.project_id and k.ip = cast(x.ip as inet)`, [JSON.stringify(gone)]);
    if (present.length) {
      await sql(
        em,
        `insert into known_hosts(project_id, ip, last_observed_at, appeared_by)
         select x.project_id, cast(x.ip as inet), x.at, x.appeared_by from jsonb_to_recordset(cast(? as jsonb)) as x(project_id text, ip text, at timestamptz, appeared_by text)
         on conflict (project_id, ip) do update set last_observed_at = excluded.last_observed_at, appeared_by = excluded.appeared_by`,
        [JSON.stringify(present)],
      );
    }
    await sql(em, `delete from coverage c using ${batchHosts} where c.project_id = x.project_id and c.ip = cast(x.ip as inet)`, [keys]);
    if (spans.length) {
      await sql(
        em,
        `insert into coverage(project_id, ip, proto, source, observed_at, ports)
         select x.project_id, cast(x.ip as inet), x.proto, x.source, x.observed_at, x.ports
         from jsonb_to_recordset(cast(? as jsonb)) as x(project_id text, ip text, proto text, source text, observed_at timestamptz, ports text)`,
        [JSON.stringify(spans)],
      );
    }
  },
};
