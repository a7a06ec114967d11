import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class CreateProjectRequestDto {
  @ApiProperty({ example: 'acme-external', description: '1-64 characters: letters, digits, _ and -' })
  @Matches(/^[0-9A-Za-z_-]{1,64}$/, { message: 'name must be 1-64 characters of letters, digits, _ and -' })
  name!: string;

  @ApiPropertyOptional({ example: 'Q4 external perimeter' })
  @IsOptional() @IsString() @MaxLength(1000)
  comment?: string;
}
