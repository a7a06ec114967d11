import { Controller, Get, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ORM } from '#platform';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('projects')
export class QueryProjectsHttpController {
  constructor(@Inject(ORM) private readonly orm: MikroORM) {}

  @Get()
  async list() {
    const rows = await this.orm.em.fork().execute(
      `select p.id, p.name, p.comment, p.created_at as "createdAt",
              coalesce(json_agg(json_build_object('userId', m.user_id, 'role', m.role) order by m.user_id) filter (where m.user_id is not null), '[]') as members
         from ledger.projects p left join ledger.project_members m on m.project_id = p.id
        where p.deleted_at is null group by p.id order by p.name`,
    );
    return { items: rows };
  }

  @Get(':projectId')
  async get(@Param('projectId') projectId: string) {
    const rows = await this.orm.em.fork().execute(
      `select id, name, comment, owner_id as "ownerId", created_at as "createdAt", updated_at as "updatedAt" from ledger.projects where id = ? and deleted_at is null`,
      [projectId],
    );
    if (!rows.length) throw new NotFoundException(`project ${projectId} not found`);
    return rows[0];
  }
}
