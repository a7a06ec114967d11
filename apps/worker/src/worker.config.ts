import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { KafkaEnv } from '#platform';

export class WorkerEnv extends KafkaEnv {
  @IsInt() @Min(1) @Max(65535)
  WORKER_PORT: number = 8082;

  @IsOptional() @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 characters of letters, digits, . _ -' })
  WORKER_ID?: string;

  @IsString()
  NMAP_PATH: string = 'nmap';

  @IsInt() @Min(1) @Max(64)
  WORKER_CONCURRENCY: number = 2;
}
