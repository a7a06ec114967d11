import { randomBytes } from 'node:crypto';
import { BadRequestException, Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { IsISO8601 } from 'class-validator';
import { Topics, type Envelope } from '#events';
import { Access, CONFIG, KAFKA, LOGGER, ORM, quoteIdent, rebuildProjection, type ConsumedEvent, type JsonLogger } from '#platform';
import type { LedgerEnv } from '../ledger.config.js';
import { HostScopeReader } from '../hosts/host-scope.reader.js';
import { viewDigest } from '../hosts/host-view.js';
import { LedgerConsumerService } from '../projection/ledger-consumer.service.js';
import { ledgerProjection } from '../projection/ledger.projection.js';

export class ReplayRequestDto {
  @IsISO8601({ strict: true }, { message: 'until must be an ISO 8601 time, e.g. 2026-11-20T10:00:00Z' })
  until!: string;
}

const HOST_EVENTS = new Set(['HostObserved', 'HostDeleted']);

/**
 * Replay for audit: rebuilds one project's read models from the log, up to a moment, into a scratch
 * schema and compares their digest with the live "as of" view of the same moment. Two independent
 * paths (a fresh fold of the log, and the trail folded on read) must tell the same story.
 */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('projects/:projectId/audit')
export class AuditReplayHttpController {
  constructor(
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CONFIG) private readonly config: LedgerEnv,
    @Inject(LOGGER) private readonly logger: JsonLogger,
    @Inject(HostScopeReader) private readonly scope: HostScopeReader,
    private readonly consumer: LedgerConsumerService,
  ) {}

  @Post('replay')
  @HttpCode(200)
  @Access('project.manage', { projectParam: 'projectId' })
  async replay(@Param('projectId') projectId: string, @Body() body: ReplayRequestDto) {
    const until = new Date(body.until);
    if (until.getTime() > Date.now() + 60_000) throw new BadRequestException('until is in the future');
    const untilIso = until.toISOString();
    const started = Date.now();
    const cut = (await this.scope.cut(projectId, untilIso))!;
    const asOf = await viewDigest(this.scope.hosts(projectId, cut, {}));

    const p = this.config.KAFKA_TOPIC_PREFIX;
    const tag = randomBytes(4).toString('hex');
    const schema = `ledger_replay_${tag}`;
    // The project's host events stop at the first one after `until`: the same cut as the as-of clock.
    let stopped = false;
    const select = (c: ConsumedEvent): boolean => {
      const e = c.event as Envelope<string, { projectId?: string }>;
      if (e.payload?.projectId !== projectId) return false;
      if (!c.topic.endsWith(Topics.ledger.name)) return true;
      if (!stopped && HOST_EVENTS.has(e.type) && e.occurredAt > untilIso) stopped = true;
      return !stopped;
    };
    try {
      const { applied } = await rebuildProjection(this.orm, this.kafka, ledgerProjection, {
        topics: this.consumer.topics,
        groupId: `${p}falcoria.ledger-projector.replay.${tag}`,
        swap: false,
        targetSchema: schema,
        deadLetters: { topic: p + Topics.deadLetters.name, liveGroupId: this.consumer.groupId },
        select,
      });
      const replayed = await viewDigest(this.scope.inSchema(schema).hosts(projectId, { pos: Number.MAX_SAFE_INTEGER, asOf: untilIso }, {}));
      const result = {
        until: untilIso, scanned: applied, hosts: replayed.hosts, replayChecksum: replayed.checksum, asOfChecksum: asOf.checksum, asOfHosts: asOf.hosts,
        equal: replayed.checksum === asOf.checksum, seconds: (Date.now() - started) / 1000,
      };
      this.logger.info({ msg: 'audit replay', projectId, ...result });
      return result;
    } finally {
      await this.orm.em.fork().execute(`drop schema if exists ${quoteIdent(schema)} cascade`);
    }
  }
}
