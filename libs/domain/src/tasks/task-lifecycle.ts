// One task's life as the planner sees it. Workers only ever report; the planner (the single writer of
// its project's partition) decides. Attempts fence stale reports: a report counts only for the
// attempt the planner currently has, from the worker that holds it.

import type { RevokedTaskJson, RevocationReason, TaskCompletedV1, TaskFailedV1, TaskLeaseExpiredV1, TaskStartedV1 } from '#events';

export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export const TASK_STATES: readonly TaskState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];
export const isFinal = (s: TaskState): boolean => s === 'done' || s === 'failed' || s === 'cancelled';

export interface TaskRecord {
  readonly taskId: string;
  readonly state: TaskState;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly lastError: string | null;
  /**
   * Queued but not offered: the dispatch rule (emergency stop, window, budget) keeps it back. Its
   * attempt has never been offered, so whatever a worker reports for it is stale.
   */
  readonly held?: boolean;
  /** Attempts taken back without a fault of the run (emergency stop, window close, policy change): not counted against maxAttempts. */
  readonly interruptions?: number;
}

export type TaskReport =
  | { readonly type: 'TaskStarted'; readonly at: string; readonly payload: TaskStartedV1 }
  | { readonly type: 'TaskCompleted'; readonly at: string; readonly payload: TaskCompletedV1 }
  | { readonly type: 'TaskFailed'; readonly at: string; readonly payload: TaskFailedV1 }
  | { readonly type: 'TaskLeaseExpired'; readonly at: string; readonly payload: TaskLeaseExpiredV1 };

export interface TaskDecision {
  /** The record after the report; the same object when nothing changed. */
  readonly next: TaskRecord | null;
  /** Offer the task again under `next.attempt`. */
  readonly requeue: boolean;
  /** Tell workers to stop (or never start) these runs. */
  readonly revoke: { readonly reason: RevocationReason; readonly task: RevokedTaskJson } | null;
  /** Why the report changed nothing, for the logs. */
  readonly ignored?: string;
}

export interface LifecyclePolicy {
  /** Runs per task, first included: a retryable failure or an expired lease re-queues until this many. */
  readonly maxAttempts: number;
}

const same = (task: TaskRecord | null, ignored: string): TaskDecision => ({ next: task, requeue: false, revoke: null, ignored });

function retryOrFail(task: TaskRecord, at: string, error: string, retryable: boolean, policy: LifecyclePolicy): TaskDecision {
  if (retryable && task.attempt - (task.interruptions ?? 0) < policy.maxAttempts) {
    return { next: { ...task, state: 'queued', attempt: task.attempt + 1, workerId: null, startedAt: null, lastError: error }, requeue: true, revoke: null };
  }
  return { next: { ...task, state: 'failed', finishedAt: at, lastError: error }, requeue: false, revoke: null };
}

export function decideTaskReport(task: TaskRecord | null, report: TaskReport, policy: LifecyclePolicy): TaskDecision {
  const { attempt, workerId } = report.payload;
  if (task === null) {
    // An offer the planner never recorded (a plan that crashed before commit and changed on retry).
    return report.type === 'TaskStarted'
      ? { next: null, requeue: false, revoke: { reason: 'not_current', task: { taskId: report.payload.taskId, attempt, workerId } }, ignored: 'unknown task' }
      : same(null, 'unknown task');
  }
  const current = attempt === task.attempt;
  const holder = task.state === 'running' && current && workerId === task.workerId;
  switch (report.type) {
    case 'TaskStarted': {
      if (task.held && current && !isFinal(task.state)) {
        // An offer the planner decided and then lost (its transaction rolled back after the offer went
        // out): the attempt is burnt, the task waits for the dispatch rule under the next one.
        return {
          next: { ...task, attempt: task.attempt + 1, interruptions: (task.interruptions ?? 0) + 1 },
          requeue: false,
          revoke: { reason: 'not_current', task: { taskId: task.taskId, attempt, workerId } },
          ignored: `start of attempt ${attempt} while the task is held`,
        };
      }
      if (isFinal(task.state) || !current) {
        return { next: task, requeue: false, revoke: { reason: 'not_current', task: { taskId: task.taskId, attempt, workerId } }, ignored: `start of attempt ${attempt} while the task is ${task.state} at attempt ${task.attempt}` };
      }
      if (holder) return same(task, 'start redelivered');
      const next: TaskRecord = { ...task, state: 'running', workerId, startedAt: report.at };
      // Two starts of one attempt: a redelivered offer after a rebalance, or the planner re-published
      // it. The later start is the one whose worker committed the offer, so it wins.
      if (task.state === 'running' && task.workerId !== null) {
        return { next, requeue: false, revoke: { reason: 'superseded', task: { taskId: task.taskId, attempt, workerId: task.workerId } } };
      }
      return { next, requeue: false, revoke: null };
    }
    case 'TaskCompleted':
      if (!holder) return same(task, `completion of attempt ${attempt} by ${workerId} does not hold the task`);
      return { next: { ...task, state: 'done', finishedAt: report.at, lastError: null }, requeue: false, revoke: null };
    case 'TaskFailed':
      if (!holder) return same(task, `failure of attempt ${attempt} by ${workerId} does not hold the task`);
      if (report.payload.reason === 'interrupted') {
        // Stopped from outside (the emergency stop): re-queued however many attempts it had, never lost.
        return { next: { ...task, state: 'queued', attempt: task.attempt + 1, interruptions: (task.interruptions ?? 0) + 1, workerId: null, startedAt: null, lastError: `interrupted: ${report.payload.message}` }, requeue: true, revoke: null };
      }
      return retryOrFail(task, report.at, `${report.payload.reason}: ${report.payload.message}`, report.payload.retryable, policy);
    case 'TaskLeaseExpired': {
      if (!holder) return same(task, 'lease already moved on');
      const d = retryOrFail(task, report.at, `lease_expired: no heartbeat from ${workerId} since ${report.payload.lastSeenAt}`, true, policy);
      // The worker may be alive behind a partition: make sure it stops.
      return { ...d, revoke: { reason: 'lease_expired', task: { taskId: task.taskId, attempt, workerId } } };
    }
  }
}

/**
 * Takes an offered or running task back into the queue, held, under a fresh attempt (the dispatch
 * rule changed: a window closed, a policy was set). The old attempt is revoked, so its offer is
 * skipped and its nmap stopped; the attempt does not count against maxAttempts. Null when there is
 * nothing to take back (held already, or finished).
 */
export function recallTask(task: TaskRecord, reason: string): { readonly next: TaskRecord; readonly revoke: RevokedTaskJson } | null {
  if (isFinal(task.state) || task.held) return null;
  return {
    next: { ...task, state: 'queued', attempt: task.attempt + 1, interruptions: (task.interruptions ?? 0) + 1, held: true, workerId: null, startedAt: null, lastError: `recalled: ${reason}` },
    revoke: { taskId: task.taskId, attempt: task.attempt, workerId: null },
  };
}

/** A cancel takes every queued or running task; finished ones keep their outcome. */
export function cancelTask(task: TaskRecord, at: string): { readonly next: TaskRecord; readonly wasRunning: boolean } | null {
  if (isFinal(task.state)) return null;
  return { next: { ...task, state: 'cancelled', finishedAt: at, lastError: 'cancelled' }, wasRunning: task.state === 'running' };
}

export type ScanState = 'planning' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export type TaskCounts = Readonly<Record<TaskState, number>>;

/** A scan is finished when none of its tasks is queued or running; its outcome is the worst one. */
export function scanStateOf(planned: boolean, c: TaskCounts): ScanState {
  if (!planned) return 'planning';
  if (c.running > 0) return 'running';
  if (c.queued > 0) return 'queued';
  if (c.cancelled > 0) return 'cancelled';
  if (c.failed > 0) return 'failed';
  return 'done';
}
