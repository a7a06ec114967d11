import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '#platform';
import { ProfileCatalogue } from './profile.catalogue.js';

@ApiTags('scans')
@ApiBearerAuth()
@Controller('profiles')
export class ListProfilesHttpController {
  constructor(private readonly catalogue: ProfileCatalogue) {}

  @Get()
  @Authenticated()
  list() {
    return { items: this.catalogue.all().map((p) => ({ name: p.name, description: p.description, config: p.config })) };
  }
}
