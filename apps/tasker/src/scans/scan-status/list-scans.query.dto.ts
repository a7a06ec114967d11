import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { ScanState } from '#domain';

export class ListScansQueryDto {
  @ApiPropertyOptional({ enum: ['planning', 'queued', 'running', 'done', 'failed', 'cancelled'] })
  @IsOptional() @IsIn(['planning', 'queued', 'running', 'done', 'failed', 'cancelled'])
  status?: ScanState;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;
}
