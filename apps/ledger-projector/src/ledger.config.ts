import { IsInt, IsString, Max, Min } from 'class-validator';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseEnv } from '#platform';

export class LedgerEnv extends DatabaseEnv {
  @IsInt() @Min(1) @Max(65535)
  LEDGER_PORT: number = 8081;

  @IsInt() @Min(1) @Max(10000)
  LEDGER_BATCH_SIZE: number = 1000;

  @IsInt() @Min(1) @Max(10000)
  LEDGER_PUBLISH_BATCH: number = 500;

  @IsString()
  LEDGER_SPOOL_DIR: string = join(tmpdir(), 'falcoria-spool');

  /** Reports are streamed and spooled, never held in memory; this only bounds disk use. */
  @IsInt() @Min(1024)
  LEDGER_MAX_UPLOAD_BYTES: number = 16 * 1024 ** 3;

  @IsInt() @Min(1000)
  LEDGER_WAIT_MS: number = 600000;
}
