import { IsInt, Max, Min } from 'class-validator';
import { DatabaseEnv } from '#platform';

export class TaskerEnv extends DatabaseEnv {
  @IsInt() @Min(1) @Max(65535)
  TASKER_PORT: number = 8080;
}
