-- The ledger's tables as ledger.schema.ts leaves them (indexes, lz4 TOAST), loaded with COPY in one
-- transaction, asynchronous commit as the projector does. Prints each COPY's time and the backend's CPU.
create schema floor;
set search_path = floor;
set synchronous_commit = off;
create table hosts (project_id text not null, ip text not null, state text compression lz4 not null, deleted boolean not null, first_seen timestamptz not null, last_seen timestamptz not null, open_count int not null, hostnames text[] not null, os text, first_pos bigint, last_pos bigint, primary key (project_id, ip));
create index hosts_by_inet on hosts(project_id, (ip::inet));
create table host_ports (project_id text not null, ip text not null, proto text not null, port int not null, state text not null, service text, product text, version text, extrainfo text, tunnel text, cpes text[] not null default '{}', primary key (project_id, ip, proto, port));
create index host_ports_by_port on host_ports(project_id, port, proto);
create table history (id bigserial primary key, project_id text not null, ip text not null, proto text, port int, field text not null, key text, old jsonb, new jsonb, rule text not null, event_id text not null, observed_at timestamptz not null);
create index history_by_project on history(project_id, id desc);
create index history_by_ip on history(project_id, ip, id desc);
create table host_events (seq bigserial primary key, project_id text not null, ip text not null, event_id text not null, type text not null, occurred_at timestamptz not null, event text compression lz4 not null, pos bigint, at timestamptz, source_id text);
create index host_events_by_ip on host_events(project_id, ip, seq);
create index host_events_by_clock on host_events(project_id, at, pos);
create table import_hosts (import_id text not null, ip text not null, outcome smallint not null, primary key (import_id, ip));
\t on
\o @DIR@/pid
select pg_backend_pid();
\o
\t off
\timing on
begin;
\copy hosts from '@DIR@/hosts.tsv'
\copy host_ports from '@DIR@/ports.tsv'
\copy history (project_id, ip, proto, port, field, key, old, new, rule, event_id, observed_at) from '@DIR@/history.tsv'
\copy host_events (project_id, ip, event_id, type, occurred_at, event, pos, at, source_id) from '@DIR@/events.tsv'
\copy import_hosts from '@DIR@/import_hosts.tsv'
commit;
\! awk '{printf "backend CPU %.1f s (user %.1f, system %.1f)\n", ($14+$15)/100, $14/100, $15/100}' /proc/$(tr -d ' \n' < @DIR@/pid)/stat
