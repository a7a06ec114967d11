import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { FleetControlEvent } from '#events';
import { foldEmergencyStop, NO_EMERGENCY_STOP, type EmergencyStopState } from '#domain';
import { CONFIG, FleetControlReader, KAFKA, LOGGER, type JsonLogger } from '#platform';
import type { TaskerEnv } from '../tasker.config.js';

/**
 * The emergency stop as this tasker instance sees it, folded in memory from the fleet-control topic
 * (read in full at start, before the planner consumes). The planner holds every task back while it
 * is active; the HTTP side answers with it; the dispatch clock wakes projects after a release.
 */
@Injectable()
export class EmergencyStopView implements OnApplicationShutdown {
  private current: EmergencyStopState = NO_EMERGENCY_STOP;
  private reader?: FleetControlReader;
  private readonly seen = new Set<string>();
  private started?: Promise<void>;

  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  get state(): EmergencyStopState {
    return this.current;
  }

  /** Whether the fold has applied this event (HTTP answers once its own event is visible). */
  has(eventId: string): boolean {
    return this.seen.has(eventId);
  }

  /** Idempotent: the planner and the module both call it, whoever starts first. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const group = `${this.config.KAFKA_TOPIC_PREFIX}falcoria.tasker.fleet-control.${hostname()}-${process.pid}`;
      this.reader = new FleetControlReader(this.kafka, this.config.KAFKA_TOPIC_PREFIX, group, (e) => this.apply(e), this.logger);
      await this.reader.start();
    })();
    return this.started;
  }

  apply(e: FleetControlEvent): void {
    const before = this.current.active;
    this.current = foldEmergencyStop(this.current, e);
    this.seen.add(e.eventId);
    if (before !== this.current.active) this.logger.warn({ msg: this.current.active ? 'emergency stop active' : 'emergency stop released', by: e.actor, reason: e.payload.reason });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.reader?.stop();
  }
}
