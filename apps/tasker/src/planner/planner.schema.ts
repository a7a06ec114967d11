// The tasker's own schema ("tasker"): operational state of scans and tasks, written only by the
// planner consumer (one writer per project partition) in the transaction that moves its checkpoint.
export const PLANNER_SCHEMA = 'tasker';

export const PLANNER_MIGRATIONS = [
  `create table scans (
     scan_id text primary key,
     project_id text not null,
     requested_at timestamptz not null,
     requested_by jsonb not null,
     idempotency_key text,
     request_hash text not null,
     profile text,
     config jsonb not null,
     rescan boolean not null,
     request_summary jsonb not null,
     planned_at timestamptz,
     plan jsonb,
     finished_at timestamptz,
     final_state text
   )`,
  `create index scans_by_project on scans(project_id, requested_at desc, scan_id desc)`,
  `create table tasks (
     task_id text primary key,
     scan_id text not null,
     project_id text not null,
     shard jsonb not null,
     portset_key text not null,
     fingerprint text not null,
     family smallint not null,
     ranges jsonb not null,
     addresses int not null,
     hostnames jsonb not null,
     state text not null,
     attempt int not null,
     worker_id text,
     queued_at timestamptz not null,
     started_at timestamptz,
     finished_at timestamptz,
     last_error text
   )`,
  `create index tasks_by_scan on tasks(scan_id, state)`,
  `create index tasks_in_flight on tasks(project_id, portset_key) where state in ('queued', 'running')`,
  `create index tasks_done on tasks(project_id, fingerprint, finished_at) where state = 'done'`,
  `create index tasks_running on tasks(started_at) where state = 'running'`,
  `create table cancellations (
     cancel_id text primary key,
     project_id text not null,
     requested_at timestamptz not null,
     scan_ids jsonb not null,
     queued int not null,
     running int not null
   )`,
  // Issue 9: safe-scanning controls. A held task is queued but not offered (emergency stop, window or
  // budget); interruptions are attempts taken back without a fault of the run, not counted.
  `alter table tasks add column held boolean not null default false`,
  `alter table tasks add column interruptions int not null default 0`,
  `create index tasks_held on tasks(project_id, queued_at, task_id) where held and state = 'queued'`,
  `create index tasks_dispatched on tasks(project_id) where state = 'running' or (state = 'queued' and not held)`,
  `create table scan_policies (
     project_id text primary key,
     policy_id text not null,
     budgets jsonb not null,
     win jsonb,
     set_at timestamptz not null,
     set_by jsonb not null
   )`,
  `create table project_dispatch (
     project_id text primary key,
     held int not null,
     gate jsonb not null,
     budgets jsonb not null,
     waiting text,
     next_check_at timestamptz,
     evaluated_at timestamptz not null
   )`,
  // Issue 8: a task's own import mode when it differs from its scan's (insert-mode scans merge known
  // hosts' uncovered ports as append); null: the scan's.
  `alter table tasks add column import_mode text`,
];
