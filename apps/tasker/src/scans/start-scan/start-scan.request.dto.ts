import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMinSize, IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IMPORT_MODES, type ImportMode } from '#events';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

export class StartScanRequestDto {
  @ApiProperty({ example: ['10.0.0.0/24', '10.0.1.5-10.0.1.20', 'app.example.com'], description: 'IPv4/IPv6 addresses, CIDRs, dash ranges and host names' })
  @IsArray() @ArrayMinSize(1) @IsString({ each: true }) @MaxLength(300, { each: true })
  targets!: string[];

  @ApiPropertyOptional({ example: 'default', description: 'a shipped profile (GET /profiles); default: "default"' })
  @IsOptional() @IsString() @MaxLength(64)
  profile?: string;

  @ApiPropertyOptional({ description: 'typed options laid over the profile (see docs/scanning.md); unknown fields are refused', example: { openPorts: { ports: '22,80,443' }, services: false } })
  @IsOptional() @IsObject()
  config?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: IMPORT_MODES, description: 'how results fold into the ledger; overrides the profile' })
  @IsOptional() @IsIn(IMPORT_MODES)
  mode?: ImportMode;

  @ApiPropertyOptional({ enum: IMPORT_MODES, description: 'alias of mode' })
  @IsOptional() @IsIn(IMPORT_MODES)
  importMode?: ImportMode;

  @ApiPropertyOptional({ description: 'scan targets again even if the same command finished them recently (default: resume)' })
  @IsOptional() @IsBoolean()
  rescan?: boolean;

  @ApiPropertyOptional({ description: 'a retry with the same key returns the same scan and never plans twice (also: Idempotency-Key header)' })
  @IsOptional() @Matches(IDEMPOTENCY_KEY, { message: 'idempotencyKey must be 1-128 printable ASCII characters' })
  idempotencyKey?: string;
}
