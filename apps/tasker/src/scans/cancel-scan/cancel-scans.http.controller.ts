import { BadRequestException, Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#domain';
import { Access, CurrentPrincipal } from '#platform';
import { CancelScansRequestDto } from './cancel-scans.request.dto.js';
import { CancelScansService } from './cancel-scans.service.js';

/** Running nmap processes of cancelled tasks are killed by their workers within seconds; queued ones never start. */
@ApiTags('scans')
@ApiBearerAuth()
@Controller('projects/:projectId/scans')
export class CancelScansHttpController {
  constructor(private readonly service: CancelScansService) {}

  @Post('cancel')
  @HttpCode(200)
  @Access('scans.cancel', { projectParam: 'projectId' })
  cancelProject(@Param('projectId') projectId: string, @Body() dto: CancelScansRequestDto, @CurrentPrincipal() p: Principal) {
    return this.service.cancel(projectId, null, dto.ips, p);
  }

  @Post('cancel-ips')
  @HttpCode(200)
  @Access('scans.cancel', { projectParam: 'projectId' })
  cancelIps(@Param('projectId') projectId: string, @Body() dto: CancelScansRequestDto, @CurrentPrincipal() p: Principal) {
    if (!dto.ips) throw new BadRequestException('ips is required: the addresses whose tasks to cancel');
    return this.service.cancel(projectId, null, dto.ips, p);
  }

  @Post(':scanId/cancel')
  @HttpCode(200)
  @Access('scans.cancel', { projectParam: 'projectId' })
  cancelScan(@Param('projectId') projectId: string, @Param('scanId') scanId: string, @Body() dto: CancelScansRequestDto, @CurrentPrincipal() p: Principal) {
    return this.service.cancel(projectId, scanId, dto.ips, p);
  }
}
