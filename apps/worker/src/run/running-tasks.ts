import { Injectable } from '@nestjs/common';
import type { RunningTaskJson, TaskOfferedV1 } from '#events';
import type { RunIdentity } from '#domain';

/** interrupted: the emergency stop (the task runs again after the release). */
export type StopReason = 'cancelled' | 'revoked' | 'worker_shutdown' | 'interrupted';

export interface ActiveRun {
  readonly offer: TaskOfferedV1;
  readonly startedAt: string;
  currentIp: string | null;
  readonly controller: AbortController;
  stopReason: StopReason | null;
  readonly done: Promise<void>;
}

/** The tasks this worker runs now: for heartbeats, for revocations, and to stop them on shutdown. */
@Injectable()
export class RunningTasks {
  private readonly runs = new Map<string, ActiveRun>();

  add(taskId: string, run: ActiveRun): void {
    this.runs.set(taskId, run);
  }

  /** Only that run: a newer attempt of the same task on this worker keeps its entry. */
  remove(taskId: string, run: ActiveRun): void {
    if (this.runs.get(taskId) === run) this.runs.delete(taskId);
  }

  holds(taskId: string, attempt: number): boolean {
    return this.runs.get(taskId)?.offer.attempt === attempt;
  }

  all(): ActiveRun[] {
    return [...this.runs.values()];
  }

  stop(run: ActiveRun, reason: StopReason): void {
    if (run.stopReason) return;
    run.stopReason = reason;
    run.controller.abort(reason);
  }

  /** Stops every run the predicate names; returns how many. */
  stopWhere(pred: (id: RunIdentity) => boolean, workerId: string, reason: StopReason): number {
    let n = 0;
    for (const r of this.runs.values()) {
      if (pred({ scanId: r.offer.scanId, taskId: r.offer.taskId, attempt: r.offer.attempt, workerId })) {
        this.stop(r, reason);
        n++;
      }
    }
    return n;
  }

  heartbeat(): RunningTaskJson[] {
    return this.all().map((r) => ({ taskId: r.offer.taskId, attempt: r.offer.attempt, projectId: r.offer.projectId, scanId: r.offer.scanId, startedAt: r.startedAt, currentIp: r.currentIp }));
  }
}
