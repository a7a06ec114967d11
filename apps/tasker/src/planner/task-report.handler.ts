import type { RevokedTaskJson, RevocationReason, ScanEvent, TasksQueuedV1, TasksRevokedV1 } from '#events';
import { WORKER_CONTROL_KEY } from '#events';
import { decideTaskReport, derivedUuid, type TaskReport } from '#domain';
import type { Em, JsonLogger } from '#platform';
import { holdsBack, holdTasks } from './dispatch.handler.js';
import type { Outbox } from './outbox.js';
import type { PlannerSettings } from './plan-scan.handler.js';
import { lockTask, offerOf, saveRecord, toRecord } from './task-rows.js';

export type TaskReportEvent = Extract<ScanEvent, { type: TaskReport['type'] }>;

export function revocation(out: Outbox, reason: RevocationReason, scanIds: readonly string[], tasks: readonly RevokedTaskJson[]): void {
  out.add<TasksRevokedV1>('TasksRevoked', WORKER_CONTROL_KEY, { reason, scanIds, tasks });
}

/**
 * A worker's report (or the watchdog's lease expiry) against the task's current record. Returns the
 * scan id when the task reached a final state, so the caller can check whether the scan finished.
 */
export async function handleTaskReport(em: Em, env: TaskReportEvent, settings: PlannerSettings, out: Outbox, logger: JsonLogger): Promise<string | null> {
  const row = await lockTask(em, env.payload.taskId);
  const report = { type: env.type, at: env.occurredAt, payload: env.payload } as TaskReport;
  const record = row ? toRecord(row) : null;
  const d = decideTaskReport(record, report, { maxAttempts: settings.maxAttempts });
  if (d.revoke) revocation(out, d.revoke.reason, [], [d.revoke.task]);
  if (d.ignored) logger.debug({ msg: 'task report ignored', type: env.type, taskId: env.payload.taskId, attempt: env.payload.attempt, workerId: env.payload.workerId, why: d.ignored });
  if (!row || !d.next || d.next === record) return null;
  await saveRecord(em, d.next);
  if (d.requeue) {
    const [scan] = await em.execute<{ config: Record<string, unknown> }[]>(`select config from scans where scan_id = ?`, [row.scan_id]);
    out.add<TasksQueuedV1>('TasksQueued', row.project_id, {
      projectId: row.project_id,
      scanId: row.scan_id,
      reason: 'retry',
      tasks: [{ taskId: row.task_id, attempt: d.next.attempt, shard: row.shard, ranges: row.ranges }],
    });
    // Under a scan policy or an emergency stop the retry waits for the dispatch pass like a new task.
    if (await holdsBack(em, row.project_id, settings)) await holdTasks(em, [row.task_id]);
    else out.add('TaskOffered', row.task_id, offerOf(row, d.next.attempt, scan.config), { id: derivedUuid('offer', row.task_id, String(d.next.attempt)) });
  }
  return d.next.state === 'done' || d.next.state === 'failed' ? row.scan_id : null;
}
