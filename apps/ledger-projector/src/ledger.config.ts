import { IsInt, Max, Min } from 'class-validator';
import { DatabaseEnv } from '#platform';

export class LedgerEnv extends DatabaseEnv {
  @IsInt() @Min(1) @Max(65535)
  LEDGER_PORT: number = 8081;

  @IsInt() @Min(1) @Max(10000)
  LEDGER_BATCH_SIZE: number = 1000;
}
