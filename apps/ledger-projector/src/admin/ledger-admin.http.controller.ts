import { Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { Topics } from '#events';
import { Access, CONFIG, KAFKA, LOGGER, ORM, ProjectionRunner, rebuildProjection, type JsonLogger } from '#platform';
import type { LedgerEnv } from '../ledger.config.js';
import { LedgerConsumerService } from '../projection/ledger-consumer.service.js';
import { ledgerProjection } from '../projection/ledger.projection.js';
import { WebhookStore } from '../webhooks/webhook.store.js';

@ApiTags('ledger')
@ApiBearerAuth()
@Controller('ledger')
export class LedgerAdminHttpController {
  constructor(
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CONFIG) private readonly config: LedgerEnv,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    private readonly consumer: LedgerConsumerService,
    private readonly webhooks: WebhookStore,
  ) {}

  /** A digest of every ledger read model; equal before and after a rebuild when nothing was lost. */
  @Get('checksum')
  @Access('ledger.rebuild')
  async checksum() {
    const checkpoints = await this.consumer.runner.checkpoints();
    return { checksum: await new ProjectionRunner(this.orm, ledgerProjection).checksum(), checkpoints };
  }

  /** Drops and rebuilds all ledger read models from the log, then swaps them in atomically. */
  @Post('rebuild')
  @HttpCode(200)
  @Access('ledger.rebuild')
  async rebuild() {
    const before = await new ProjectionRunner(this.orm, ledgerProjection).checksum();
    const started = Date.now();
    const p = this.config.KAFKA_TOPIC_PREFIX;
    const { applied } = await rebuildProjection(this.orm, this.kafka, ledgerProjection, {
      topics: this.consumer.topics,
      groupId: `${p}falcoria.ledger-projector.rebuild`,
      swap: true,
      deadLetters: { topic: p + Topics.deadLetters.name, liveGroupId: this.consumer.groupId },
      beforeSwap: (tx, { live, rebuilt }) => this.webhooks.rebaseCursors(tx, live, rebuilt),
      onProgress: (n, total) => {
        if (n % 10000 < 1000) this.logger.info({ msg: 'rebuild progress', applied: n, total });
      },
    });
    const after = await new ProjectionRunner(this.orm, ledgerProjection).checksum();
    return { applied, seconds: (Date.now() - started) / 1000, checksumBefore: before, checksumAfter: after, equal: before === after };
  }
}
