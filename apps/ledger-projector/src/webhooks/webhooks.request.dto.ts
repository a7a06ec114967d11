import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUrl, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { CHANGE_FIELDS, MAX_WEBHOOK_URL_LENGTH } from '#domain';

export class CreateWebhookRequestDto {
  @ApiProperty({ example: 'https://hooks.example.com/falcoria' })
  @IsString() @MaxLength(MAX_WEBHOOK_URL_LENGTH)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false, disallow_auth: true, allow_fragments: false }, { message: 'url must be an absolute http(s) URL without user name or password' })
  url!: string;

  @ApiPropertyOptional({ description: 'signing secret (16-256 printable characters); generated and shown once when absent' })
  @IsOptional() @IsString() @Length(16, 256) @Matches(/^[\x21-\x7e]+$/, { message: 'secret must be printable ASCII without spaces' })
  secret?: string;

  @ApiPropertyOptional({ description: 'change fields to deliver; all when absent', enum: CHANGE_FIELDS, isArray: true, example: ['host', 'state'] })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(CHANGE_FIELDS.length) @IsIn(CHANGE_FIELDS, { each: true })
  events?: string[];
}

export class DeliveriesQueryDto {
  @ApiPropertyOptional({ default: 50, maximum: 1000 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;
}
