import { IsInt, IsString, Max, Min } from 'class-validator';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseEnv } from '#platform';

export class LedgerEnv extends DatabaseEnv {
  @IsInt() @Min(1) @Max(65535)
  LEDGER_PORT: number = 8081;

  // Everything a chunk folds stays alive until its transaction commits, long enough for V8 to
  // promote it: 1000 hosts per chunk grew the old generation by ~100 MB between collections, 250
  // keeps the process under 256 MB RSS at no measured cost in throughput (docs/benchmarks.md).
  @IsInt() @Min(1) @Max(10000)
  LEDGER_BATCH_SIZE: number = 250;

  @IsInt() @Min(1) @Max(10000)
  LEDGER_PUBLISH_BATCH: number = 500;

  /**
   * An import is one Kafka transaction; the broker aborts one left open this long (the ledger died
   * while publishing). Until then the consumers of its partition wait at it, so not longer than an
   * import's publishing needs (docs/benchmarks.md) and not above the broker's
   * transaction.max.timeout.ms (15 minutes by default).
   */
  @IsInt() @Min(10000) @Max(3600000)
  LEDGER_IMPORT_TRANSACTION_TIMEOUT_MS: number = 600000;

  /** Imports published at once by this instance; more wait for a turn (each holds one transactional id). */
  @IsInt() @Min(1) @Max(64)
  LEDGER_IMPORT_CONCURRENCY: number = 4;

  /**
   * Names this instance's import transactional ids, so that after a crash its restart fences what it
   * left open. Must differ between instances running at once; empty: `<hostname>-<LEDGER_PORT>`.
   */
  @IsString()
  LEDGER_INSTANCE_ID: string = '';

  @IsString()
  LEDGER_SPOOL_DIR: string = join(tmpdir(), 'falcoria-spool');

  /** Reports are streamed and spooled, never held in memory; this only bounds disk use. */
  @IsInt() @Min(1024)
  LEDGER_MAX_UPLOAD_BYTES: number = 16 * 1024 ** 3;

  @IsInt() @Min(1000)
  LEDGER_WAIT_MS: number = 600000;

  /** Consecutive failed deliveries after which a webhook is disabled until an owner enables it. */
  @IsInt() @Min(1) @Max(1000)
  WEBHOOK_MAX_FAILURES: number = 10;

  /** Retry back-off: base, 2·base, 4·base, … capped at WEBHOOK_RETRY_MAX_MS. */
  @IsInt() @Min(10) @Max(3600000)
  WEBHOOK_RETRY_BASE_MS: number = 1000;

  @IsInt() @Min(10) @Max(86400000)
  WEBHOOK_RETRY_MAX_MS: number = 300000;

  @IsInt() @Min(100) @Max(120000)
  WEBHOOK_TIMEOUT_MS: number = 10000;

  /** Changes per POST at most. */
  @IsInt() @Min(1) @Max(1000)
  WEBHOOK_BATCH_SIZE: number = 100;

  /** How often each instance looks for new changes and due retries. */
  @IsInt() @Min(50) @Max(60000)
  WEBHOOK_POLL_MS: number = 1000;

  /** Webhooks one instance delivers to at the same time (each holds a database connection meanwhile). */
  @IsInt() @Min(1) @Max(64)
  WEBHOOK_CONCURRENCY: number = 4;

  /** Delivery log rows kept per webhook (newest). */
  @IsInt() @Min(10) @Max(1000000)
  WEBHOOK_LOG_KEEP: number = 1000;
}
