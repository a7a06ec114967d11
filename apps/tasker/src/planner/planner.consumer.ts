import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { Topics } from '#events';
import { ATTEMPTS, CONFIG, EventConsumer, KAFKA, LOGGER, ORM, ProjectionRunner, PUBLISHER, type AttemptStore, type EventPublisher, type JsonLogger } from '#platform';
import { EmergencyStopView } from '../emergency-stop/emergency-stop.view.js';
import { KnownHostsConsumer } from '../known-hosts/known-hosts.consumer.js';
import type { TaskerEnv } from '../tasker.config.js';
import { PlannerProjection } from './planner.projection.js';
import { loadTopPorts } from './top-ports.js';

/**
 * Runs the planner under the group `<prefix>falcoria.tasker.planner` on the scans topic. Every
 * tasker instance joins it; Kafka gives each project's partition to exactly one of them.
 */
@Injectable()
export class PlannerConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly runner: ProjectionRunner;
  private consumer?: EventConsumer;

  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(ORM) orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(ATTEMPTS) private readonly attempts: AttemptStore,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly knownHosts: KnownHostsConsumer,
    private readonly emergencyStop: EmergencyStopView,
  ) {
    const projection = new PlannerProjection(
      publisher,
      {
        maxTasks: config.TASKER_MAX_TASKS_PER_SCAN,
        maxAddressesPerTask: config.TASKER_MAX_ADDRESSES_PER_TASK,
        resumeWindowHours: config.TASKER_RESUME_WINDOW_HOURS,
        maxAttempts: config.TASKER_TASK_MAX_ATTEMPTS,
        emergencyStop: () => emergencyStop.state,
        topPorts: loadTopPorts(config.TASKER_NMAP_SERVICES, logger),
      },
      logger,
    );
    this.runner = new ProjectionRunner(orm, projection);
  }

  get groupId(): string {
    return `${this.config.KAFKA_TOPIC_PREFIX}falcoria.tasker.planner`;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.knownHosts.init();
    // The planner must know whether the fleet is stopped before it offers anything.
    await this.emergencyStop.start();
    await this.runner.init();
    const p = this.config.KAFKA_TOPIC_PREFIX;
    this.consumer = new EventConsumer(this.kafka, {
      groupId: this.groupId,
      topics: [p + Topics.scans.name],
      handler: this.runner.handle,
      onInvisible: this.runner.stepOver,
      checkpoints: () => this.runner.checkpoints(),
      attempts: this.attempts,
      maxAttempts: this.config.CONSUMER_MAX_ATTEMPTS,
      deadLetterTopic: p + Topics.deadLetters.name,
      publisher: this.publisher,
      logger: this.logger,
      chunkSize: this.config.TASKER_PLANNER_BATCH,
    });
    await this.consumer.start();
    await this.knownHosts.start();
    this.logger.info({ msg: 'planner consuming', group: this.groupId });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
