import { isIP } from 'node:net';
import { BadRequestException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested, ArrayMaxSize, IsArray } from 'class-validator';
import { Transform } from 'class-transformer';

const toBool = ({ value }: { value: unknown }) => (value === 'true' || value === true ? true : value === 'false' || value === false ? false : value);

export class HostFiltersDto {
  @ApiPropertyOptional({ description: 'only hosts with at least one open port' })
  @IsOptional() @Transform(toBool) @IsBoolean()
  hasOpenPorts?: boolean;

  @ApiPropertyOptional({ example: 443 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  port?: number;

  @ApiPropertyOptional({ enum: ['tcp', 'udp', 'sctp', 'ip'] }) @IsOptional() @IsIn(['tcp', 'udp', 'sctp', 'ip'])
  proto?: string;

  @ApiPropertyOptional({ example: 'http' }) @IsOptional() @IsString() @MaxLength(100)
  service?: string;

  @ApiPropertyOptional({ description: 'substring, case-insensitive', example: 'nginx' }) @IsOptional() @IsString() @MaxLength(200)
  product?: string;

  @ApiPropertyOptional({ example: '10.0.0.0/24' }) @IsOptional() @Matches(/^[0-9a-fA-F:.]+\/\d{1,3}$/, { message: 'cidr must look like 10.0.0.0/24' })
  cidr?: string;

  @ApiPropertyOptional({ description: 'substring, case-insensitive' }) @IsOptional() @IsString() @MaxLength(253)
  hostname?: string;

  @ApiPropertyOptional({ description: 'the scope as it stood at this ISO 8601 time, or right after this import or scan id was applied', example: '2026-11-20T10:00:00Z' })
  @IsOptional() @IsString() @MaxLength(64)
  asOf?: string;
}

export class HostListQueryDto extends HostFiltersDto {
  @ApiPropertyOptional({ default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page' }) @IsOptional() @IsString() @MaxLength(100)
  cursor?: string;
}

export class PortClauseDto {
  @IsOptional() @IsInt() @Min(0) @Max(65535) port?: number;
  @IsOptional() @IsIn(['tcp', 'udp', 'sctp', 'ip']) proto?: string;
  @IsOptional() @IsString() @MaxLength(100) service?: string;
  @IsOptional() @IsString() @MaxLength(200) product?: string;
  @IsOptional() @IsString() @MaxLength(100) version?: string;
  @IsOptional() @IsString() @MaxLength(30) state?: string;
}

export class SearchRequestDto extends HostFiltersDto {
  @ApiPropertyOptional({ type: [PortClauseDto], description: 'every clause must hold, each on one port' })
  @IsOptional() @IsArray() @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => PortClauseDto)
  allOf?: PortClauseDto[];

  @ApiPropertyOptional({ type: [PortClauseDto], description: 'at least one clause holds on one port' })
  @IsOptional() @IsArray() @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => PortClauseDto)
  anyOf?: PortClauseDto[];

  @ApiPropertyOptional({ type: [PortClauseDto], description: 'no port matches any of these' })
  @IsOptional() @IsArray() @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => PortClauseDto)
  noneOf?: PortClauseDto[];

  @ApiPropertyOptional({ default: 100 }) @IsOptional() @IsInt() @Min(1) @Max(1000)
  limit?: number;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100)
  cursor?: string;

  @ApiPropertyOptional({ description: 'return only the ports that matched a clause' }) @IsOptional() @IsBoolean()
  matchedPortsOnly?: boolean;
}

/** Builds the WHERE clause of a host query; every value travels as a parameter. */
export function hostWhere(projectId: string, f: HostFiltersDto & { allOf?: PortClauseDto[]; anyOf?: PortClauseDto[]; noneOf?: PortClauseDto[] }) {
  const where = ['h.project_id = ?', 'not h.deleted'];
  const params: unknown[] = [projectId];
  if (f.hasOpenPorts) where.push('h.open_count > 0');
  const portCond = (c: PortClauseDto, alias: string) => {
    const parts = [`${alias}.project_id = h.project_id`, `${alias}.ip = h.ip`];
    if (c.state) {
      parts.push(`${alias}.state = ?`);
      params.push(c.state);
    } else parts.push(`${alias}.state = 'open'`);
    if (c.port !== undefined) (parts.push(`${alias}.port = ?`), params.push(c.port));
    if (c.proto) (parts.push(`${alias}.proto = ?`), params.push(c.proto));
    if (c.service) (parts.push(`${alias}.service = ?`), params.push(c.service));
    if (c.product) (parts.push(`${alias}.product ilike ?`), params.push(`%${c.product}%`));
    if (c.version) (parts.push(`${alias}.version ilike ?`), params.push(`%${c.version}%`));
    return `exists (select 1 from ledger.host_ports ${alias} where ${parts.join(' and ')})`;
  };
  if (f.port !== undefined || f.proto || f.service || f.product) where.push(portCond({ port: f.port, proto: f.proto, service: f.service, product: f.product }, 'fp'));
  if (f.cidr) {
    where.push('h.ip::inet <<= ?::cidr');
    params.push(f.cidr);
  }
  if (f.hostname) {
    where.push(`exists (select 1 from unnest(h.hostnames) n where n ilike ?)`);
    params.push(`%${f.hostname}%`);
  }
  (f.allOf ?? []).forEach((c, i) => where.push(portCond(c, `a${i}`)));
  if (f.anyOf?.length) where.push(`(${f.anyOf.map((c, i) => portCond(c, `o${i}`)).join(' or ')})`);
  (f.noneOf ?? []).forEach((c, i) => where.push(`not ${portCond(c, `n${i}`)}`));
  return { sql: where.join(' and '), params };
}

export function checkCidr(cidr: string | undefined): void {
  if (!cidr) return;
  const [addr, bits] = cidr.split('/');
  if (!isIP(addr)) throw new BadRequestException(`cidr ${cidr} does not start with an IP address`);
  const max = addr.includes(':') ? 128 : 32;
  if (Number(bits) > max) throw new BadRequestException(`cidr prefix /${bits} is longer than /${max}`);
}
