import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, MaxLength } from 'class-validator';

export class CancelScansRequestDto {
  @ApiPropertyOptional({ example: ['10.0.0.5'], description: 'only the tasks holding these addresses; without it, everything named by the route' })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100_000) @IsString({ each: true }) @MaxLength(64, { each: true })
  ips?: string[];
}
