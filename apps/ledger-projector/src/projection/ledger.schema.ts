/**
 * The ledger's read models. Tables are unqualified: the projection runs with search_path set to
 * the live schema or to a fresh one during a rebuild. `host_events` keeps each host's raw event
 * trail, so audit and time travel never need a second store.
 */
// Append only from here on: a deployed database has applied these by position.
export const LEDGER_MIGRATIONS: readonly string[] = [
  `create table projects (
     id text primary key,
     name text not null,
     comment text,
     owner_id text not null,
     created_at timestamptz not null,
     updated_at timestamptz not null,
     deleted_at timestamptz
   )`,
  `create table project_members (
     project_id text not null,
     user_id text not null,
     role text not null,
     updated_at timestamptz not null,
     primary key (project_id, user_id)
   )`,
  `create table imports (
     id text primary key,
     project_id text not null,
     file_name text,
     sha256 text,
     mode text not null,
     track_history boolean not null,
     force boolean not null,
     status text not null,
     host_count int,
     actor jsonb not null,
     started_at timestamptz not null,
     completed_at timestamptz,
     ports_opened int not null default 0,
     ports_closed int not null default 0,
     changes int not null default 0,
     run jsonb,
     reason text,
     dead_lettered int not null default 0
   )`,
  `create index imports_by_hash on imports(project_id, sha256)`,
  `create table import_hosts (import_id text not null, ip text not null, outcome smallint not null, primary key (import_id, ip))`,
  `create table hosts (
     project_id text not null,
     ip text not null,
     state jsonb not null,
     deleted boolean not null,
     first_seen timestamptz not null,
     last_seen timestamptz not null,
     open_count int not null,
     hostnames text[] not null,
     os text,
     primary key (project_id, ip)
   )`,
  `create table host_ports (
     project_id text not null,
     ip text not null,
     proto text not null,
     port int not null,
     state text not null,
     service text,
     product text,
     version text,
     extrainfo text,
     tunnel text,
     cpes text[] not null default '{}',
     primary key (project_id, ip, proto, port)
   )`,
  `create index host_ports_by_port on host_ports(project_id, port, proto)`,
  `create table history (
     id bigserial primary key,
     project_id text not null,
     ip text not null,
     proto text,
     port int,
     field text not null,
     key text,
     old jsonb,
     new jsonb,
     rule text not null,
     event_id text not null,
     observed_at timestamptz not null
   )`,
  `create table provenance (event_id text primary key, source jsonb, mode text, actor jsonb not null, run jsonb, occurred_at timestamptz not null)`,
  `create index provenance_by_time on provenance(occurred_at)`,
  `create index history_by_project on history(project_id, id desc)`,
  `create index history_by_ip on history(project_id, ip, id desc)`,
  `create table host_events (
     seq bigserial primary key,
     project_id text not null,
     ip text not null,
     event_id text not null,
     type text not null,
     occurred_at timestamptz not null,
     event text not null
   )`,
  `create index host_events_by_ip on host_events(project_id, ip, seq)`,
  // lz4 compresses these multi-kilobyte documents several times faster than the default pglz.
  `do $$ begin
     if exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) then
       alter table hosts alter column state set compression lz4;
       alter table host_events alter column event set compression lz4;
     end if;
   end $$`,
  // Time travel ("as of"): each trail row carries its log position (the Kafka offset: one project
  // lives on one partition, so positions order a project's events) and the project's clock, the
  // running maximum of event times; hosts know the first and last position that touched them.
  `alter table host_events add column pos bigint, add column at timestamptz, add column source_id text`,
  `create index host_events_by_clock on host_events(project_id, at, pos)`,
  `alter table hosts add column first_pos bigint, add column last_pos bigint`,
  `create index hosts_by_inet on hosts(project_id, (ip::inet))`,
  `create table source_cuts (project_id text not null, source_id text not null, pos bigint not null, at timestamptz not null, primary key (project_id, source_id))`,
  // A host's state is only ever read whole, by the ledger, so it is kept as the text packState
  // wrote: converting each ~5 KB document to jsonb was half the cost of the projector's host upsert.
  `alter table hosts alter column state type text using state::text`,
  `do $$ begin
     if exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) then
       alter table hosts alter column state set compression lz4;
     end if;
   end $$`,
];
