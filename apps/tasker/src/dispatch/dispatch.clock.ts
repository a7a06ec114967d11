import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import { eventCatalogue, type Envelope, type TaskDispatchRequestedV1 } from '#events';
import { derivedUuid } from '#domain';
import { CONFIG, LOGGER, ORM, PUBLISHER, type EventPublisher, type JsonLogger } from '#platform';
import { EmergencyStopView } from '../emergency-stop/emergency-stop.view.js';
import { PLANNER_ACTOR } from '../planner/outbox.js';
import { PLANNER_SCHEMA } from '../planner/planner.schema.js';
import type { TaskerEnv } from '../tasker.config.js';

/**
 * Wakes the planner when only time changed what may run: a project's scan window opens or closes,
 * or the emergency stop was released while its tasks wait. It only asks (TaskDispatchRequested on
 * the project's partition); the planner decides, in order with the project's other events. Every
 * tasker instance runs one; a duplicate wake-up costs one idle dispatch pass.
 */
@Injectable()
export class DispatchClock implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly sent = new Map<string, number>();

  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly emergencyStop: EmergencyStopView,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () =>
        void this.tick().catch((e) => {
          // Until the planner's first start has migrated its schema there is nothing to wake.
          if ((e as { code?: string }).code === '42P01') return;
          this.logger.warn({ msg: 'dispatch clock failed', error: (e as Error).message });
        }),
      this.config.TASKER_DISPATCH_CHECK_MS,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async tick(now = Date.now()): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    try {
      const stopped = this.emergencyStop.state.active;
      const rows = await this.orm.em
        .fork()
        .execute<{ project_id: string; next_check_at: Date | null; gate: { kind: string } }[]>(
          `select project_id, next_check_at, gate from ${PLANNER_SCHEMA}.project_dispatch
           where next_check_at <= ? or (gate->>'kind' = 'emergency_stop' and held > 0 and not ?)`,
          [new Date(now), stopped],
        );
      const due: Envelope<'TaskDispatchRequested', TaskDispatchRequestedV1>[] = [];
      const lastRelease = this.emergencyStop.state.history.filter((h) => h.type === 'released').at(-1)?.at ?? '';
      for (const r of rows) {
        const edge = r.next_check_at !== null && new Date(r.next_check_at).getTime() <= now;
        const dueAt = edge ? new Date(r.next_check_at!).toISOString() : lastRelease;
        const reason: TaskDispatchRequestedV1['reason'] = edge ? 'window_edge' : 'stop_released';
        const key = `${r.project_id}|${reason}|${dueAt}`;
        // Asked already and the planner has not answered yet: ask again only after a while.
        if (now - (this.sent.get(key) ?? 0) < 30_000) continue;
        this.sent.set(key, now);
        due.push({
          eventId: derivedUuid('dispatch-due', key),
          type: 'TaskDispatchRequested',
          schemaVersion: eventCatalogue.get('TaskDispatchRequested')!.schemaVersion,
          key: r.project_id,
          occurredAt: new Date(now).toISOString(),
          correlationId: r.project_id,
          causationId: null,
          actor: { ...PLANNER_ACTOR, name: 'dispatch-clock' },
          payload: { projectId: r.project_id, reason, dueAt: dueAt || new Date(now).toISOString() },
        });
      }
      for (const [k, t] of this.sent) if (now - t > 600_000) this.sent.delete(k);
      if (due.length) {
        await this.publisher.publish(due);
        this.logger.info({ msg: 'dispatch due', projects: due.map((d) => ({ projectId: d.payload.projectId, reason: d.payload.reason })) });
      }
      return due.length;
    } finally {
      this.busy = false;
    }
  }
}
