import { WORKER_CONTROL_KEY, type Envelope, type RevokedTaskJson, type ScanPolicySetV1, type TasksQueuedV1, type TasksRevokedV1 } from '#events';
import {
  BudgetLedger,
  derivedUuid,
  describeWaiting,
  dispatchGate,
  policyRestricts,
  recallTask,
  validateScanPolicy,
  type DispatchGate,
  type ScanPolicy,
} from '#domain';
import type { Em, JsonLogger } from '#platform';
import type { Outbox } from './outbox.js';
import { offerOf, saveRecord, toRecord, type TaskRow } from './task-rows.js';

// The dispatch rule (issue 9): the planner, single writer of its project's tasks, is also the one
// place that decides when a queued task is offered. Without a policy and without an emergency stop
// tasks are offered as they are planned (the fast path, unchanged). Otherwise they are stored
// "held" and offered here, at the end of every planner batch that touched the project, as far as
// the emergency stop, the window and the budgets allow. Counting happens over every task of the
// project offered or running, whichever worker has it, so the budget holds across the fleet.

const PAGE = 500;
const CHUNK = 500;

const NO_STOP = { active: false, since: null } as const;

/** What the dispatch rule needs of the planner's settings (PlannerSettings has it). */
export interface DispatchSettings {
  readonly emergencyStop?: () => { readonly active: boolean; readonly since: string | null };
}
type PlannerSettings = DispatchSettings;

interface PolicyRow {
  policy_id: string;
  budgets: ScanPolicy['budgets'];
  win: ScanPolicy['window'];
}

export async function loadPolicy(em: Em, projectId: string): Promise<ScanPolicy | null> {
  const [row] = await em.execute<PolicyRow[]>(`select policy_id, budgets, win from scan_policies where project_id = ?`, [projectId]);
  return row ? { budgets: row.budgets, window: row.win } : null;
}

const stopOf = (settings: PlannerSettings) => settings.emergencyStop?.() ?? NO_STOP;

/** Whether new and re-queued tasks of the project wait for the dispatch rule instead of being offered at once. */
export async function holdsBack(em: Em, projectId: string, settings: PlannerSettings): Promise<boolean> {
  return stopOf(settings).active || policyRestricts(await loadPolicy(em, projectId));
}

export async function holdTasks(em: Em, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length) await em.execute(`update tasks set held = true where task_id in (${taskIds.map(() => '?').join(',')})`, [...taskIds]);
}

/** Whether the project needs a dispatch pass at all: a policy, a stop, held tasks, or a status row to clear. */
async function needsDispatch(em: Em, projectId: string, settings: PlannerSettings): Promise<boolean> {
  if (stopOf(settings).active) return true;
  const [r] = await em.execute<{ n: boolean }[]>(
    `select exists(select 1 from scan_policies where project_id = ? and (jsonb_array_length(budgets) > 0 or win is not null))
         or exists(select 1 from project_dispatch where project_id = ?)
         or exists(select 1 from tasks where project_id = ? and held and state = 'queued') as n`,
    [projectId, projectId, projectId],
  );
  return r?.n === true;
}

/**
 * Takes every offered or running task of the project back (held, next attempt, old attempt revoked):
 * a window closed, or a policy changed what may run. Returns how many.
 */
async function recallInFlight(em: Em, projectId: string, reason: string, out: Outbox): Promise<number> {
  const rows = await em.execute<TaskRow[]>(`select * from tasks where project_id = ? and (state = 'running' or (state = 'queued' and not held)) order by queued_at, task_id for update`, [projectId]);
  const revoked: RevokedTaskJson[] = [];
  const byScan = new Map<string, TasksQueuedV1['tasks'][number][]>();
  for (const r of rows) {
    const rc = recallTask(toRecord(r), reason);
    if (!rc) continue;
    await saveRecord(em, rc.next);
    revoked.push(rc.revoke);
    const list = byScan.get(r.scan_id) ?? [];
    list.push({ taskId: r.task_id, attempt: rc.next.attempt, shard: r.shard, ranges: r.ranges });
    byScan.set(r.scan_id, list);
  }
  for (const [scanId, tasks] of byScan)
    for (let i = 0; i < tasks.length; i += CHUNK) out.add<TasksQueuedV1>('TasksQueued', projectId, { projectId, scanId, reason: 'recalled', tasks: tasks.slice(i, i + CHUNK) });
  for (let i = 0; i < revoked.length; i += CHUNK) out.add<TasksRevokedV1>('TasksRevoked', WORKER_CONTROL_KEY, { reason: 'not_current', scanIds: [], tasks: revoked.slice(i, i + CHUNK) });
  return revoked.length;
}

/** ScanPolicySet: the project's new policy. Whatever is in flight is re-dispatched under it (see docs/scanning.md). */
export async function handlePolicySet(em: Em, env: Envelope<'ScanPolicySet', ScanPolicySetV1>, out: Outbox, logger: JsonLogger): Promise<void> {
  const p = env.payload;
  const v = validateScanPolicy({ budgets: p.budgets, window: p.window });
  if (!v.ok) {
    // The HTTP side validated it; another version may have written it. Keep the old policy.
    logger.warn({ msg: 'scan policy refused by the planner', projectId: p.projectId, policyId: p.policyId, errors: v.errors });
    return;
  }
  const before = await loadPolicy(em, p.projectId);
  await em.execute(
    `insert into scan_policies(project_id, policy_id, budgets, win, set_at, set_by) values (?, ?, cast(? as jsonb), cast(? as jsonb), ?, cast(? as jsonb))
     on conflict (project_id) do update set policy_id = excluded.policy_id, budgets = excluded.budgets, win = excluded.win, set_at = excluded.set_at, set_by = excluded.set_by`,
    [p.projectId, p.policyId, JSON.stringify(v.policy.budgets), v.policy.window ? JSON.stringify(v.policy.window) : null, env.occurredAt, JSON.stringify(env.actor)],
  );
  // Tasks offered or running under the old rule may break the new one (a smaller budget, a rate they
  // were not given): they start over under the new rule. The same policy again changes nothing.
  if (policyRestricts(v.policy) && JSON.stringify(before) !== JSON.stringify(v.policy)) {
    const n = await recallInFlight(em, p.projectId, 'scan policy changed', out);
    if (n) logger.info({ msg: 'tasks recalled under a new scan policy', projectId: p.projectId, tasks: n });
  }
}

export interface DispatchOutcome {
  readonly offered: number;
  readonly recalled: number;
  readonly held: number;
}

/**
 * Offers what the rule allows now, recalls what it no longer allows (a closed window), and writes
 * the project's dispatch status (why tasks wait, budget usage, when the clock must wake us).
 */
export async function dispatchProject(em: Em, projectId: string, settings: PlannerSettings, out: Outbox, now = Date.now()): Promise<DispatchOutcome | null> {
  if (!(await needsDispatch(em, projectId, settings))) return null;
  const policy = await loadPolicy(em, projectId);
  const stop = stopOf(settings);
  const { gate, nextCheckAt } = dispatchGate(policy, stop, now);
  let recalled = 0;
  // Strict windows: nothing of the project runs outside its hours; running tasks start over later.
  if (gate.kind === 'window') recalled = await recallInFlight(em, projectId, 'scan window closed', out);

  const ledger = new BudgetLedger(policy?.budgets ?? []);
  if (policy?.budgets.length) {
    const inFlight = await em.execute<{ ranges: TaskRow['ranges'] }[]>(`select ranges from tasks where project_id = ? and (state = 'running' or (state = 'queued' and not held))`, [projectId]);
    for (const r of inFlight) ledger.hold(r.ranges);
  }
  let offered = 0;
  if (gate.kind === 'open') offered = await offerHeld(em, projectId, ledger, out);

  const [{ held }] = await em.execute<{ held: string }[]>(`select count(*) as held from tasks where project_id = ? and held and state = 'queued'`, [projectId]);
  const [{ busy }] = await em.execute<{ busy: string }[]>(`select count(*) as busy from tasks where project_id = ? and (state = 'running' or (state = 'queued' and not held))`, [projectId]);
  if (!stop.active && !policyRestricts(policy) && Number(held) === 0) {
    // Back to the fast path: nothing restricts the project and nothing waits.
    await em.execute(`delete from project_dispatch where project_id = ?`, [projectId]);
    return { offered, recalled, held: 0 };
  }
  const waiting = Number(held) > 0 ? describeWaiting(gate, ledger.usage()) : null;
  // The clock wakes the planner at the window's next edge while anything waits or runs.
  const wake = nextCheckAt !== null && Number(held) + Number(busy) > 0 ? new Date(nextCheckAt).toISOString() : null;
  await em.execute(
    `insert into project_dispatch(project_id, held, gate, budgets, waiting, next_check_at, evaluated_at) values (?, ?, cast(? as jsonb), cast(? as jsonb), ?, ?, ?)
     on conflict (project_id) do update set held = excluded.held, gate = excluded.gate, budgets = excluded.budgets, waiting = excluded.waiting, next_check_at = excluded.next_check_at, evaluated_at = excluded.evaluated_at`,
    [projectId, Number(held), JSON.stringify(gateJson(gate)), JSON.stringify(ledger.usage()), waiting, wake, new Date(now).toISOString()],
  );
  return { offered, recalled, held: Number(held) };
}

const gateJson = (g: DispatchGate) => (g.kind === 'window' ? { kind: g.kind, opensAt: g.opensAt === null ? null : new Date(g.opensAt).toISOString() } : g);

/** Held tasks in queue order, a page at a time; each goes if every budget it touches has room. */
async function offerHeld(em: Em, projectId: string, ledger: BudgetLedger, out: Outbox): Promise<number> {
  const configs = new Map<string, Record<string, unknown>>();
  let offered = 0;
  let after: [string, string] | null = null;
  for (;;) {
    const params: unknown[] = [projectId];
    let sql = `select * from tasks where project_id = ? and held and state = 'queued'`;
    if (after) {
      sql += ` and (queued_at, task_id) > (cast(? as timestamptz), ?)`;
      params.push(...after);
    }
    const rows = await em.execute<TaskRow[]>(`${sql} order by queued_at, task_id limit ${PAGE} for update`, params);
    if (!rows.length) break;
    const go: string[] = [];
    for (const r of rows) {
      const a = ledger.admit(r.ranges);
      if (!a.ok) continue;
      let config = configs.get(r.scan_id);
      if (!config) {
        const [scan] = await em.execute<{ config: Record<string, unknown> }[]>(`select config from scans where scan_id = ?`, [r.scan_id]);
        config = scan.config;
        configs.set(r.scan_id, config);
      }
      out.add('TaskOffered', r.task_id, offerOf(r, r.attempt, config, a.maxRate === undefined ? undefined : { maxRate: a.maxRate }), { id: derivedUuid('offer', r.task_id, String(r.attempt)) });
      go.push(r.task_id);
    }
    if (go.length) await em.execute(`update tasks set held = false where task_id in (${go.map(() => '?').join(',')})`, go);
    offered += go.length;
    await out.flush();
    const last = rows[rows.length - 1];
    after = [new Date(last.queued_at).toISOString(), last.task_id];
    if (rows.length < PAGE) break;
  }
  return offered;
}
