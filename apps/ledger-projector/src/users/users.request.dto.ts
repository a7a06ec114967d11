import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class TokenOptionsDto {
  @ApiPropertyOptional({ example: '2027-01-01T00:00:00Z', description: 'absolute expiry (or use lifetimeSeconds)' })
  @IsOptional() @IsISO8601({ strict: true })
  expiresAt?: string;

  @ApiPropertyOptional({ example: 2592000 })
  @IsOptional() @IsInt() @Min(60) @Max(10 * 366 * 24 * 3600)
  lifetimeSeconds?: number;

  @ApiPropertyOptional({ example: 'laptop' })
  @IsOptional() @IsString() @MaxLength(64)
  label?: string;
}

export class CreateUserRequestDto extends TokenOptionsDto {
  @ApiProperty({ example: 'alice' })
  @Matches(/^[a-z0-9._-]{1,64}$/, { message: 'username must be 1-64 characters of a-z 0-9 . _ -' })
  username!: string;

  @ApiPropertyOptional({ enum: ['user', 'worker', 'service'], default: 'user' })
  @IsOptional() @IsIn(['user', 'worker', 'service'])
  kind?: 'user' | 'worker' | 'service';

  @ApiPropertyOptional({ default: false })
  @IsOptional() @IsBoolean()
  admin?: boolean;
}

export class UpdateUserRequestDto {
  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  admin?: boolean;

  @ApiPropertyOptional({ description: 'true disables the user (tokens stop working), false enables' })
  @IsOptional() @IsBoolean()
  disabled?: boolean;
}

export class RotateTokenRequestDto {
  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true })
  expiresAt?: string;

  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(60) @Max(10 * 366 * 24 * 3600)
  lifetimeSeconds?: number;
}
