import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const NAME = /^[0-9A-Za-z_-]{1,64}$/;
const NAME_MSG = 'name must be 1-64 characters of letters, digits, _ and -';

export class CreateProjectRequestDto {
  @ApiProperty({ example: 'acme-external' })
  @Matches(NAME, { message: NAME_MSG })
  name!: string;

  @ApiPropertyOptional({ example: 'Q4 external perimeter' })
  @IsOptional() @IsString() @MaxLength(1000)
  comment?: string;
}

export class UpdateProjectRequestDto {
  @ApiPropertyOptional() @IsOptional() @Matches(NAME, { message: NAME_MSG })
  name?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1000)
  comment?: string;
}

export class SetMemberRequestDto {
  @ApiProperty({ enum: ['owner', 'member', 'viewer'] })
  @IsIn(['owner', 'member', 'viewer'])
  role!: 'owner' | 'member' | 'viewer';
}

export class SetScopeRequestDto {
  @ApiProperty({ example: ['10.0.0.0/16', 'example.com'] })
  @IsArray() @ArrayMaxSize(10000) @IsString({ each: true }) @MaxLength(253, { each: true })
  allow!: string[];

  @ApiProperty({ example: ['10.0.0.1'] })
  @IsArray() @ArrayMaxSize(10000) @IsString({ each: true }) @MaxLength(253, { each: true })
  deny!: string[];
}
