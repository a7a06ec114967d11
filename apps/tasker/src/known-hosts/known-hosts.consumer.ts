import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { Topics } from '#events';
import { ATTEMPTS, CONFIG, EventConsumer, KAFKA, LOGGER, ORM, ProjectionRunner, PUBLISHER, type AttemptStore, type EventPublisher, type JsonLogger } from '#platform';
import type { TaskerEnv } from '../tasker.config.js';
import { knownHostsProjection } from './known-hosts.projection.js';

/** Folds the ledger topic into tasker_ledger.known_hosts, under its own consumer group. */
@Injectable()
export class KnownHostsConsumer implements OnApplicationShutdown {
  readonly runner: ProjectionRunner;
  private consumer?: EventConsumer;
  private initialised?: Promise<void>;

  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(ORM) orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(ATTEMPTS) private readonly attempts: AttemptStore,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {
    this.runner = new ProjectionRunner(orm, knownHostsProjection);
  }

  get groupId(): string {
    return `${this.config.KAFKA_TOPIC_PREFIX}falcoria.tasker.known-hosts`;
  }

  /** The planner reads this schema, so it must exist before the planner consumes. */
  init(): Promise<void> {
    this.initialised ??= this.runner.init();
    return this.initialised;
  }

  async start(): Promise<void> {
    await this.init();
    const p = this.config.KAFKA_TOPIC_PREFIX;
    this.consumer = new EventConsumer(this.kafka, {
      groupId: this.groupId,
      topics: [p + Topics.ledger.name],
      handler: this.runner.handle,
      onInvisible: this.runner.stepOver,
      checkpoints: () => this.runner.checkpoints(),
      attempts: this.attempts,
      maxAttempts: this.config.CONSUMER_MAX_ATTEMPTS,
      deadLetterTopic: p + Topics.deadLetters.name,
      publisher: this.publisher,
      logger: this.logger,
      chunkSize: 1000,
    });
    await this.consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
