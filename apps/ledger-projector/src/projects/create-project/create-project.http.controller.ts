import { Body, ConflictException, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Envelope, ProjectCreatedV1 } from '#events';
import { ORM, PUBLISHER, type EventPublisher } from '#platform';
import { waitFor } from '../../shared/wait-for.js';
import { CreateProjectRequestDto } from './create-project.request.dto.js';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('projects')
export class CreateProjectHttpController {
  constructor(
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(ORM) private readonly orm: MikroORM,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Body() dto: CreateProjectRequestDto) {
    const em = this.orm.em.fork();
    const taken = await em.execute(`select 1 from ledger.projects where name = ? and deleted_at is null`, [dto.name]);
    if (taken.length) throw new ConflictException(`a project named "${dto.name}" already exists`);
    const projectId = randomUUID();
    const event: Envelope<'ProjectCreated', ProjectCreatedV1> = {
      eventId: randomUUID(),
      type: 'ProjectCreated',
      schemaVersion: 1,
      key: projectId,
      occurredAt: new Date().toISOString(),
      correlationId: randomUUID(),
      causationId: null,
      actor: { kind: 'system', id: 'anonymous' },
      payload: { projectId, name: dto.name, comment: dto.comment ?? null, ownerId: 'anonymous' },
    };
    await this.publisher.publish([event]);
    // Read-your-writes: answer once the projection shows the project (or say it is still pending).
    const applied = await waitFor(async () => (await em.execute(`select 1 from ledger.projects where id = ?`, [projectId])).length > 0, 10000);
    return { id: projectId, name: dto.name, comment: dto.comment ?? null, applied };
  }
}
