import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#domain';
import { Access, CurrentPrincipal } from '#platform';
import { EmergencyStopRequestDto } from './emergency-stop.request.dto.js';
import { EmergencyStopService } from './emergency-stop.service.js';

/**
 * The fleet-wide emergency stop: admins only (one switch for every project). Every running nmap on
 * every worker is killed within seconds, nothing new starts until the release, and interrupted tasks
 * run again after it.
 */
@ApiTags('workers')
@ApiBearerAuth()
@Controller('emergency-stop')
export class EmergencyStopHttpController {
  constructor(private readonly service: EmergencyStopService) {}

  @Get()
  @Access('workers.read')
  get() {
    return this.service.state();
  }

  @Post()
  @HttpCode(200)
  @Access('system.stop')
  activate(@Body() dto: EmergencyStopRequestDto, @CurrentPrincipal() p: Principal) {
    return this.service.activate(dto.reason, p);
  }

  @Post('release')
  @HttpCode(200)
  @Access('system.stop')
  release(@Body() dto: EmergencyStopRequestDto, @CurrentPrincipal() p: Principal) {
    return this.service.release(dto.reason, p);
  }
}
