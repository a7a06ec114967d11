import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMinSize, IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { IMPORT_MODES, type ImportMode } from '#events';
import { DEDUP_MODES, type DedupMode } from '#domain';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
export const STALE_AFTER = /^[1-9]\d{0,5}[smhdw]$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "30d" → seconds. */
export const staleAfterSeconds = (text: string): number => Number(text.slice(0, -1)) * UNIT_SECONDS[text.slice(-1)];

export class StartScanRequestDto {
  @ApiProperty({ example: ['10.0.0.0/24', '10.0.1.5-10.0.1.20', 'app.example.com'], description: 'IPv4/IPv6 addresses, CIDRs, dash ranges and host names; optional with gaps' })
  @ValidateIf((o: StartScanRequestDto) => !o.gaps || o.targets !== undefined)
  @IsArray() @ArrayMinSize(1) @IsString({ each: true }) @MaxLength(300, { each: true })
  targets?: string[];

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

  @ApiPropertyOptional({
    enum: DEDUP_MODES,
    description: 'coverage: known hosts are scanned only on the ports the ledger has no coverage for; none: scan what is asked. Default: coverage for insert and append, none for update and replace (and with rescan)',
  })
  @IsOptional() @IsIn(DEDUP_MODES)
  dedup?: DedupMode;

  @ApiPropertyOptional({ description: 'fill the gaps: dedup by coverage; without targets, the project scope and the hosts the ledger knows are the targets. Re-running it resumes.' })
  @IsOptional() @IsBoolean()
  gaps?: boolean;

  @ApiPropertyOptional({ example: '30d', description: 'coverage older than this (s, m, h, d, w) does not count for dedup; default TASKER_COVERAGE_STALE_AFTER_HOURS (0: it always counts)' })
  @IsOptional() @Matches(STALE_AFTER, { message: 'staleAfter must be a duration such as 12h, 30d or 8w' })
  staleAfter?: string;

  @ApiPropertyOptional({ description: 'a retry with the same key returns the same scan and never plans twice (also: Idempotency-Key header)' })
  @IsOptional() @Matches(IDEMPOTENCY_KEY, { message: 'idempotencyKey must be 1-128 printable ASCII characters' })
  idempotencyKey?: string;
}
