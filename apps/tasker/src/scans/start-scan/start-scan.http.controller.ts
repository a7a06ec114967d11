import { Body, Controller, Headers, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#domain';
import { Access, CurrentPrincipal } from '#platform';
import { BadRequestException } from '@nestjs/common';
import { IDEMPOTENCY_KEY, StartScanRequestDto } from './start-scan.request.dto.js';
import { StartScanService } from './start-scan.service.js';

@ApiTags('scans')
@ApiBearerAuth()
@Controller('projects/:projectId/scans')
export class StartScanHttpController {
  constructor(private readonly service: StartScanService) {}

  /** 201 planned, 202 still planning (poll the scan), 200 a retry under an idempotency key already used. */
  @Post()
  @Access('scans.create', { projectParam: 'projectId' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async start(
    @Param('projectId') projectId: string,
    @Body() dto: StartScanRequestDto,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') headerKey: string | undefined,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ) {
    if (headerKey !== undefined && !IDEMPOTENCY_KEY.test(headerKey)) throw new BadRequestException('Idempotency-Key must be 1-128 printable ASCII characters');
    const r = await this.service.start(projectId, dto, principal, headerKey);
    res.status(r.status);
    return r.body;
  }
}
