import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsObject, IsOptional, ValidateIf } from 'class-validator';

/** Checked in depth by validateScanPolicy (libs/domain), which names every bad field. */
export class SetScanPolicyRequestDto {
  @ApiProperty({ example: [{ cidr: '10.0.0.0/16', maxHosts: 2, maxPps: 300 }], description: 'per network: hosts at once and packets per second, across every worker; [] for none' })
  @IsArray() @ArrayMaxSize(100)
  budgets!: unknown[];

  @ApiPropertyOptional({ example: { start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' }, nullable: true, description: 'daily local hours in which tasks may run; null for any time' })
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsObject()
  window?: Record<string, unknown> | null;
}
