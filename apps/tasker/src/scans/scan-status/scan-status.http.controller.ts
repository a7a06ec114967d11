import { BadRequestException, Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Access } from '#platform';
import { ListScansQueryDto } from './list-scans.query.dto.js';
import { BadCursorError, ScansReadModel } from './scans.read-model.js';

@ApiTags('scans')
@ApiBearerAuth()
@Controller('projects/:projectId/scans')
export class ScanStatusHttpController {
  constructor(private readonly scans: ScansReadModel) {}

  @Get()
  @Access('project.read', { projectParam: 'projectId' })
  async list(@Param('projectId') projectId: string, @Query() q: ListScansQueryDto) {
    try {
      return await this.scans.list(projectId, { status: q.status, limit: q.limit ?? 50, cursor: q.cursor });
    } catch (e) {
      if (e instanceof BadCursorError) throw new BadRequestException(e.message);
      throw e;
    }
  }

  @Get(':scanId')
  @Access('project.read', { projectParam: 'projectId' })
  async get(@Param('projectId') projectId: string, @Param('scanId') scanId: string) {
    const s = await this.scans.status(projectId, scanId);
    if (!s) throw new NotFoundException(`scan ${scanId} not found in this project`);
    return s;
  }
}
