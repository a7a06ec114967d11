import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { Topics } from '#events';
import { ATTEMPTS, CONFIG, EventConsumer, KAFKA, LOGGER, ORM, ProjectionRunner, PUBLISHER, type AttemptStore, type EventPublisher, type JsonLogger } from '#platform';
import type { LedgerEnv } from '../ledger.config.js';
import { ledgerProjection } from './ledger.projection.js';

/** The ledger's single writer: one consumer group whose members own disjoint project partitions. */
@Injectable()
export class LedgerConsumerService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly runner: ProjectionRunner;
  private consumer?: EventConsumer;

  constructor(
    @Inject(CONFIG) private readonly config: LedgerEnv,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(ATTEMPTS) private readonly attempts: AttemptStore,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {
    this.runner = new ProjectionRunner(orm, ledgerProjection);
  }

  get topics(): string[] {
    const p = this.config.KAFKA_TOPIC_PREFIX;
    return [p + Topics.projects.name, p + Topics.ledger.name];
  }

  get groupId(): string {
    return `${this.config.KAFKA_TOPIC_PREFIX}falcoria.ledger-projector`;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.runner.init();
    this.consumer = new EventConsumer(this.kafka, {
      groupId: this.groupId,
      topics: this.topics,
      handler: this.runner.handle,
      onInvisible: this.runner.stepOver,
      checkpoints: () => this.runner.checkpoints(),
      attempts: this.attempts,
      maxAttempts: this.config.CONSUMER_MAX_ATTEMPTS,
      deadLetterTopic: this.config.KAFKA_TOPIC_PREFIX + Topics.deadLetters.name,
      publisher: this.publisher,
      logger: this.logger,
      chunkSize: this.config.LEDGER_BATCH_SIZE,
    });
    await this.consumer.start();
    this.logger.info({ msg: 'ledger projector consuming', group: this.groupId, topics: this.topics });
  }

  async onApplicationShutdown(): Promise<void> {
    // Disconnect lets kafkajs finish the batch in flight and leave the group cleanly.
    await this.consumer?.stop();
  }
}
