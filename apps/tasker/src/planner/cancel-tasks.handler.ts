import type { Envelope, ScanCancelRequestedV1, TasksCancelledV1 } from '#events';
import { cancelTask, rangesToSet, setHas } from '#domain';
import type { Em } from '#platform';
import type { Outbox } from './outbox.js';
import { revocation } from './task-report.handler.js';
import { saveRecord, toRecord, type TaskRow } from './task-rows.js';

/**
 * Cancels the queued and running tasks a request names: a scan, IPs (in one scan or the whole
 * project), or the whole project. A task is the unit: cancelling one IP of a multi-address block
 * cancels the block. Workers learn it from the control topic: queued offers are skipped, running
 * nmap processes are killed.
 */
export async function handleCancel(em: Em, env: Envelope<'ScanCancelRequested', ScanCancelRequestedV1>, out: Outbox): Promise<string[]> {
  const p = env.payload;
  const done = await em.execute(`select 1 from cancellations where cancel_id = ?`, [p.cancelId]);
  if (done.length) return [];
  const params: unknown[] = [p.projectId];
  let sql = `select * from tasks where project_id = ? and state in ('queued', 'running')`;
  if (p.scanId) {
    sql += ` and scan_id = ?`;
    params.push(p.scanId);
  }
  let rows = await em.execute<TaskRow[]>(`${sql} for update`, params);
  if (p.ips) {
    const ips = p.ips;
    rows = rows.filter((r) => {
      const set = rangesToSet(r.ranges);
      return ips.some((ip) => setHas(set, ip));
    });
  }
  let queued = 0;
  let running = 0;
  const scanIds = new Set<string>();
  for (const r of rows) {
    const c = cancelTask(toRecord(r), env.occurredAt);
    if (!c) continue;
    await saveRecord(em, c.next);
    if (c.wasRunning) running++;
    else queued++;
    scanIds.add(r.scan_id);
  }
  const taskIds = rows.map((r) => r.task_id);
  await em.execute(`insert into cancellations(cancel_id, project_id, requested_at, scan_ids, queued, running) values (?, ?, ?, cast(? as jsonb), ?, ?)`, [
    p.cancelId,
    p.projectId,
    env.occurredAt,
    JSON.stringify([...scanIds]),
    queued,
    running,
  ]);
  out.add<TasksCancelledV1>('TasksCancelled', p.projectId, { projectId: p.projectId, cancelId: p.cancelId, scanIds: [...scanIds], taskIds, queued, running });
  if (taskIds.length) {
    // Whole scans go by scan id (one short message for a /12); single addresses by task.
    if (p.ips) revocation(out, 'cancelled', [], taskIds.map((taskId) => ({ taskId, attempt: null, workerId: null })));
    else revocation(out, 'cancelled', [...scanIds], []);
  }
  return [...scanIds];
}
