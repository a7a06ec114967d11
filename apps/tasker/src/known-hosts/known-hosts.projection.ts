import type { LedgerEvent } from '#events';
import { sql, type ConsumedEvent, type Em, type Projection } from '#platform';

// The tasker's own copy of which hosts each project's ledger has, folded from the ledger topic: insert
// mode skips them. The tasker never reads the ledger app's tables (the reference did, and broke
// whenever the ledger's schema moved).
export const KNOWN_HOSTS_SCHEMA = 'tasker_ledger';

export const knownHostsProjection: Projection = {
  name: KNOWN_HOSTS_SCHEMA,
  migrations: [
    `create table known_hosts (
       project_id text not null,
       ip inet not null,
       last_observed_at timestamptz not null,
       primary key (project_id, ip)
     )`,
  ],
  async apply(em: Em, events: readonly ConsumedEvent[]) {
    const up: { project_id: string; ip: string; at: string }[] = [];
    const flush = async () => {
      if (!up.length) return;
      await sql(
        em,
        `insert into known_hosts(project_id, ip, last_observed_at)
         select x.project_id, cast(x.ip as inet), max(x.at) from jsonb_to_recordset(cast(? as jsonb)) as x(project_id text, ip text, at timestamptz) group by 1, 2
         on conflict (project_id, ip) do update set last_observed_at = greatest(known_hosts.last_observed_at, excluded.last_observed_at)`,
        [JSON.stringify(up.splice(0))],
      );
    };
    for (const c of events) {
      const e = c.event as LedgerEvent;
      if (e.type === 'HostObserved') {
        // nmap scans no ports of a down host: it is not "known" for insert mode's purpose.
        if (e.payload.host.status?.state === 'down') continue;
        up.push({ project_id: e.payload.projectId, ip: e.payload.host.ip, at: e.occurredAt });
      } else if (e.type === 'HostDeleted') {
        await flush();
        await em.execute(`delete from known_hosts where project_id = ? and ip = cast(? as inet)`, [e.payload.projectId, e.payload.ip]);
      }
    }
    await flush();
  },
};
