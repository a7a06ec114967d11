import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class EmergencyStopRequestDto {
  @ApiPropertyOptional({ example: 'customer called: stop everything', description: 'why; kept in the event and shown with the stop' })
  @IsOptional() @IsString() @MaxLength(500)
  reason?: string;
}
