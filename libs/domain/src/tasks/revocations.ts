import type { RevokedTaskJson, TasksRevokedV1 } from '#events';

export interface RunIdentity {
  readonly scanId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
}

/**
 * What a worker has been told to stop or never start, folded from the control topic. Used both for
 * offers still in the queue (skipped) and for runs in progress (killed).
 */
export class RevocationList {
  private readonly scans = new Set<string>();
  private readonly tasks = new Map<string, RevokedTaskJson[]>();

  apply(e: TasksRevokedV1): void {
    for (const s of e.scanIds) this.scans.add(s);
    for (const t of e.tasks) {
      const list = this.tasks.get(t.taskId);
      if (list) list.push(t);
      else this.tasks.set(t.taskId, [t]);
    }
  }

  covers(run: RunIdentity): boolean {
    if (this.scans.has(run.scanId)) return true;
    return (this.tasks.get(run.taskId) ?? []).some((t) => matches(t, run));
  }

  get size(): number {
    return this.scans.size + this.tasks.size;
  }
}

export function matches(t: RevokedTaskJson, run: RunIdentity): boolean {
  return t.taskId === run.taskId && (t.attempt === null || t.attempt === run.attempt) && (t.workerId === null || t.workerId === run.workerId);
}
