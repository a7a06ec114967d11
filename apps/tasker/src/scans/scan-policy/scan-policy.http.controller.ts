import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#domain';
import { Access, CurrentPrincipal } from '#platform';
import { ScanPolicyService } from './scan-policy.service.js';
import { SetScanPolicyRequestDto } from './set-scan-policy.request.dto.js';

/** Rate budgets per network and a daily scan window, enforced by the planner across every worker. */
@ApiTags('scans')
@ApiBearerAuth()
@Controller('projects/:projectId/scan-policy')
export class ScanPolicyHttpController {
  constructor(private readonly service: ScanPolicyService) {}

  @Get()
  @Access('project.read', { projectParam: 'projectId' })
  get(@Param('projectId') projectId: string) {
    return this.service.get(projectId);
  }

  /** Replaces the whole policy; `{budgets: [], window: null}` lifts every restriction. */
  @Put()
  @Access('project.manage', { projectParam: 'projectId' })
  set(@Param('projectId') projectId: string, @Body() dto: SetScanPolicyRequestDto, @CurrentPrincipal() p: Principal) {
    return this.service.set(projectId, dto, p);
  }
}
