import { randomUUID } from 'node:crypto';
import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { validateTargetScope, type Principal } from '#domain';
import { Access, ACCESS_VIEW, CurrentPrincipal, type AccessView, type ProjectRecord } from '#platform';
import { AccessCommandsService, actorOf } from '../access/access-commands.service.js';
import { CreateProjectRequestDto, SetMemberRequestDto, SetScopeRequestDto, UpdateProjectRequestDto } from './projects.request.dto.js';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('projects')
export class ProjectsHttpController {
  constructor(
    private readonly commands: AccessCommandsService,
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
  ) {}

  private show(p: ProjectRecord) {
    const users = this.view.identity.users;
    return {
      id: p.projectId, name: p.name, comment: p.comment, createdAt: p.createdAt, updatedAt: p.updatedAt,
      members: [...p.members].map(([userId, role]) => ({ userId, username: users.get(userId)?.username ?? null, role })),
      scope: { allow: p.allow, deny: p.deny },
    };
  }

  @Post()
  @Access('projects.create')
  async create(@Body() dto: CreateProjectRequestDto, @CurrentPrincipal() p: Principal) {
    const projectId = randomUUID();
    await this.commands.project({ type: 'CreateProject', projectId, name: dto.name, comment: dto.comment ?? null, ownerId: p.id }, actorOf(p));
    return this.show(this.view.project(projectId)!);
  }

  @Get()
  @Access('projects.list')
  list(@CurrentPrincipal() p: Principal) {
    const visible = this.view.projects().filter((x) => p.admin || x.members.has(p.id));
    return { items: visible.sort((a, b) => a.name.localeCompare(b.name)).map((x) => this.show(x)) };
  }

  @Get(':projectId')
  @Access('project.read', { projectParam: 'projectId' })
  get(@Param('projectId') projectId: string) {
    return this.show(this.view.project(projectId)!);
  }

  @Patch(':projectId')
  @Access('project.manage', { projectParam: 'projectId' })
  async update(@Param('projectId') projectId: string, @Body() dto: UpdateProjectRequestDto, @CurrentPrincipal() p: Principal) {
    await this.commands.project({ type: 'UpdateProject', projectId, name: dto.name, comment: dto.comment }, actorOf(p));
    return this.show(this.view.project(projectId)!);
  }

  @Delete(':projectId')
  @Access('project.delete', { projectParam: 'projectId' })
  @HttpCode(204)
  async remove(@Param('projectId') projectId: string, @CurrentPrincipal() p: Principal) {
    await this.commands.project({ type: 'DeleteProject', projectId }, actorOf(p));
  }

  @Get(':projectId/members')
  @Access('project.read', { projectParam: 'projectId' })
  members(@Param('projectId') projectId: string) {
    return { items: this.show(this.view.project(projectId)!).members };
  }

  @Put(':projectId/members/:userId')
  @Access('members.manage', { projectParam: 'projectId' })
  async setMember(@Param('projectId') projectId: string, @Param('userId') userId: string, @Body() dto: SetMemberRequestDto, @CurrentPrincipal() p: Principal) {
    const byName = this.view.identity.usernames.get(userId);
    await this.commands.project({ type: 'SetMember', projectId, userId: byName ?? userId, role: dto.role }, actorOf(p));
    return { items: this.show(this.view.project(projectId)!).members };
  }

  @Delete(':projectId/members/:userId')
  @Access('members.manage', { projectParam: 'projectId' })
  @HttpCode(204)
  async removeMember(@Param('projectId') projectId: string, @Param('userId') userId: string, @CurrentPrincipal() p: Principal) {
    const byName = this.view.identity.usernames.get(userId);
    await this.commands.project({ type: 'RemoveMember', projectId, userId: byName ?? userId }, actorOf(p));
  }

  @Put(':projectId/scope')
  @Access('project.manage', { projectParam: 'projectId' })
  async setScope(@Param('projectId') projectId: string, @Body() dto: SetScopeRequestDto, @CurrentPrincipal() p: Principal) {
    const errors = validateTargetScope({ allow: dto.allow, deny: dto.deny });
    if (errors.length) throw new BadRequestException({ message: 'invalid scope', errors });
    await this.commands.project({ type: 'SetScope', projectId, allow: dto.allow, deny: dto.deny }, actorOf(p));
    return this.show(this.view.project(projectId)!).scope;
  }
}
