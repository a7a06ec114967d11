import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import { eventCatalogue, type Envelope, type TaskLeaseExpiredV1 } from '#events';
import { CONFIG, LOGGER, ORM, PUBLISHER, type EventPublisher, type JsonLogger } from '#platform';
import { PLANNER_ACTOR } from '../planner/outbox.js';
import { PLANNER_SCHEMA } from '../planner/planner.schema.js';
import type { TaskerEnv } from '../tasker.config.js';
import { FleetView } from './fleet.view.js';

/**
 * Finds running tasks whose worker went silent (no heartbeat naming the task for a lease period)
 * and reports them on the scans topic. It only reports: the planner decides, in order with the
 * worker's own reports, so a completion that raced the expiry still wins if it came first. Every
 * tasker instance may run this; duplicate reports are ignored by the planner.
 */
@Injectable()
export class LeaseWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly reported = new Map<string, number>();
  private running = false;

  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly fleet: FleetView,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep().catch((e) => this.logger.warn({ msg: 'lease sweep failed', error: (e as Error).message })), this.config.TASKER_LEASE_CHECK_SECONDS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(now = Date.now()): Promise<number> {
    if (!this.fleet.ready || this.running) return 0;
    this.running = true;
    try {
      const lease = this.config.TASKER_LEASE_SECONDS * 1000;
      const rows = await this.orm.em
        .fork()
        .execute<{ task_id: string; project_id: string; scan_id: string; attempt: number; worker_id: string; started_at: Date | string }[]>(
          `select task_id, project_id, scan_id, attempt, worker_id, started_at from ${PLANNER_SCHEMA}.tasks where state = 'running'`,
        );
      const expired: Envelope<'TaskLeaseExpired', TaskLeaseExpiredV1>[] = [];
      for (const r of rows) {
        const started = new Date(r.started_at).getTime();
        const last = Math.max(started, this.fleet.lastSeenRunning(r.task_id, r.attempt, r.worker_id) ?? 0);
        const key = `${r.task_id}|${r.attempt}`;
        if (now - last <= lease || now - (this.reported.get(key) ?? 0) < lease) continue;
        this.reported.set(key, now);
        expired.push({
          eventId: randomUUID(),
          type: 'TaskLeaseExpired',
          schemaVersion: eventCatalogue.get('TaskLeaseExpired')!.schemaVersion,
          key: r.project_id,
          occurredAt: new Date(now).toISOString(),
          correlationId: r.scan_id,
          causationId: null,
          actor: { ...PLANNER_ACTOR, name: 'lease-watchdog' },
          payload: { projectId: r.project_id, scanId: r.scan_id, taskId: r.task_id, attempt: r.attempt, workerId: r.worker_id, lastSeenAt: new Date(last).toISOString() },
        });
      }
      for (const [k, t] of this.reported) if (now - t > 10 * lease) this.reported.delete(k);
      if (expired.length) {
        await this.publisher.publish(expired);
        this.logger.warn({ msg: 'task leases expired', tasks: expired.map((e) => ({ taskId: e.payload.taskId, attempt: e.payload.attempt, workerId: e.payload.workerId })) });
      }
      return expired.length;
    } finally {
      this.running = false;
    }
  }
}
