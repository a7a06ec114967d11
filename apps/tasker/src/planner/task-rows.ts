import type { AddressRanges, ImportMode, PortShardJson, TaskLimitsJson, TaskOfferedV1 } from '#events';
import type { TaskRecord, TaskState } from '#domain';
import type { Em } from '#platform';

export interface TaskRow {
  task_id: string;
  scan_id: string;
  project_id: string;
  shard: PortShardJson;
  portset_key: string;
  fingerprint: string;
  family: number;
  ranges: AddressRanges;
  addresses: number;
  hostnames: Record<string, string[]>;
  state: TaskState;
  attempt: number;
  worker_id: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  last_error: string | null;
  held: boolean;
  interruptions: number;
  /** null: the scan's config says (see PLANNER_MIGRATIONS). */
  import_mode: ImportMode | null;
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));

export const toRecord = (r: TaskRow): TaskRecord => ({
  taskId: r.task_id,
  state: r.state,
  attempt: r.attempt,
  workerId: r.worker_id,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
  lastError: r.last_error,
  held: r.held ?? false,
  interruptions: r.interruptions ?? 0,
});

export async function lockTask(em: Em, taskId: string): Promise<TaskRow | null> {
  const rows = await em.execute<TaskRow[]>(`select * from tasks where task_id = ? for update`, [taskId]);
  return rows[0] ?? null;
}

export async function saveRecord(em: Em, r: TaskRecord): Promise<void> {
  await em.execute(`update tasks set state = ?, attempt = ?, worker_id = ?, started_at = ?, finished_at = ?, last_error = ?, held = ?, interruptions = ? where task_id = ?`, [
    r.state,
    r.attempt,
    r.workerId,
    r.startedAt,
    r.finishedAt,
    r.lastError,
    r.held ?? false,
    r.interruptions ?? 0,
    r.taskId,
  ]);
}

export function offerOf(
  row: Pick<TaskRow, 'task_id' | 'scan_id' | 'project_id' | 'shard' | 'ranges' | 'hostnames'> & Partial<Pick<TaskRow, 'import_mode'>>,
  attempt: number,
  config: Record<string, unknown>,
  limits?: TaskLimitsJson,
): TaskOfferedV1 {
  return {
    taskId: row.task_id,
    attempt,
    projectId: row.project_id,
    scanId: row.scan_id,
    config,
    shard: row.shard,
    ranges: row.ranges,
    hostnames: row.hostnames,
    importMode: row.import_mode ?? (config.importMode as ImportMode),
    ...(limits ? { limits } : {}),
  };
}
