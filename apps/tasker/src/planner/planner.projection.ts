import type { Envelope, ScanControlEvent, ScanEvent, ScanFinishedV1 } from '#events';
import { derivedUuid, scanStateOf, type TaskCounts } from '#domain';
import type { ConsumedEvent, Em, EventPublisher, JsonLogger, Projection } from '#platform';
import { handleCancel } from './cancel-tasks.handler.js';
import { dispatchProject, handlePolicySet } from './dispatch.handler.js';
import { Outbox } from './outbox.js';
import { handleScanRequested, type PlannerSettings } from './plan-scan.handler.js';
import { PLANNER_MIGRATIONS, PLANNER_SCHEMA } from './planner.schema.js';
import { handleTaskReport } from './task-report.handler.js';

const PUBLISH_CHUNK = 500;

/** Events after which a project's dispatch may change (the planner's own output never changes it). */
const DISPATCH_CAUSES = new Set(['ScanRequested', 'TaskStarted', 'TaskCompleted', 'TaskFailed', 'TaskLeaseExpired', 'ScanCancelRequested', 'ScanPolicySet', 'TaskDispatchRequested']);

/**
 * The planner: the single writer of scan and task state. Its consumer group owns the scans topic's
 * partitions, and a project's events all land on one partition, so every decision about a project
 * is taken by one process, one event at a time, in log order, in the transaction that moves the
 * checkpoint. What it decides goes out before that transaction commits: after a crash the batch is
 * handled again and writes the same ids (see Outbox), so nothing is lost and readers see no doubles.
 */
export class PlannerProjection implements Projection {
  readonly name = PLANNER_SCHEMA;
  readonly migrations = PLANNER_MIGRATIONS;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly settings: PlannerSettings,
    private readonly logger: JsonLogger,
  ) {}

  async apply(em: Em, events: readonly ConsumedEvent[]): Promise<void> {
    const outgoing: Envelope[] = [];
    const settled = new Set<string>();
    // Projects whose tasks may be offered or taken back now, with the last event that touched them.
    const touched = new Map<string, Envelope>();
    for (const c of events) {
      const e = c.event as ScanEvent | ScanControlEvent;
      const out = new Outbox(e, (events) => this.send(events));
      const projectId = (e.payload as { projectId?: unknown }).projectId;
      if (typeof projectId === 'string' && DISPATCH_CAUSES.has(e.type)) touched.set(projectId, e);
      switch (e.type) {
        case 'ScanRequested':
          await handleScanRequested(em, e, this.settings, out);
          break;
        case 'TaskStarted':
        case 'TaskCompleted':
        case 'TaskFailed':
        case 'TaskLeaseExpired': {
          const scanId = await handleTaskReport(em, e, this.settings, out, this.logger);
          if (scanId) settled.add(scanId);
          break;
        }
        case 'ScanCancelRequested':
          for (const s of await handleCancel(em, e, out)) settled.add(s);
          break;
        case 'ScanPolicySet':
          await handlePolicySet(em, e, out, this.logger);
          break;
        case 'TaskDispatchRequested':
          break; // a wake-up: the dispatch pass below does the work
        case 'ScanPlanned':
        case 'TasksQueued':
        case 'TasksCancelled':
        case 'ScanFinished':
          break; // the planner's own output, already applied when it was decided
        default:
          break; // other types on this topic belong to other readers
      }
      outgoing.push(...out.events);
      if (out.events.length) this.logger.debug({ msg: 'planner decided', cause: e.type, emitted: out.events.length });
    }
    for (const [projectId, cause] of touched) {
      const out = new Outbox({ eventId: derivedUuid('dispatch', cause.eventId), correlationId: cause.correlationId }, (events) => this.send(events));
      const d = await dispatchProject(em, projectId, this.settings, out);
      outgoing.push(...out.events);
      if (d && (d.offered || d.recalled)) this.logger.info({ msg: 'dispatch', projectId, ...d });
    }
    for (const scanId of settled) {
      const f = await this.finishIfSettled(em, scanId);
      if (f) outgoing.push(f);
    }
    await this.send(outgoing);
  }

  private async send(events: readonly Envelope[]): Promise<void> {
    for (let i = 0; i < events.length; i += PUBLISH_CHUNK) await this.publisher.publish(events.slice(i, i + PUBLISH_CHUNK));
  }

  private async finishIfSettled(em: Em, scanId: string): Promise<Envelope | null> {
    const [scan] = await em.execute<{ project_id: string; finished_at: string | null; planned_at: string | null }[]>(`select project_id, finished_at, planned_at from scans where scan_id = ? for update`, [scanId]);
    if (!scan || scan.finished_at || !scan.planned_at) return null;
    const counts = await taskCounts(em, scanId);
    if (counts.queued + counts.running > 0) return null;
    const state = scanStateOf(true, counts) as ScanFinishedV1['state'];
    await em.execute(`update scans set finished_at = now(), final_state = ? where scan_id = ?`, [state, scanId]);
    const out = new Outbox({ eventId: scanId, correlationId: scanId });
    return out.add<ScanFinishedV1>('ScanFinished', scan.project_id, { projectId: scan.project_id, scanId, state, done: counts.done, failed: counts.failed, cancelled: counts.cancelled });
  }
}

export async function taskCounts(em: Em, scanId: string): Promise<TaskCounts> {
  const rows = await em.execute<{ state: keyof TaskCounts; n: string }[]>(`select state, count(*) as n from tasks where scan_id = ? group by state`, [scanId]);
  const c: Record<string, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const r of rows) c[r.state] = Number(r.n);
  return c as TaskCounts;
}
