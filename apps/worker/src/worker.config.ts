import { IsIn, IsInt, IsIP, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
import { KafkaEnv } from '#platform';

export class WorkerEnv extends KafkaEnv {
  @IsInt() @Min(1) @Max(65535)
  WORKER_PORT: number = 8082;

  @IsOptional() @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 characters of letters, digits, . _ -' })
  WORKER_ID?: string;

  @IsString()
  NMAP_PATH: string = 'nmap';

  /** Tasks run at once; each runs its addresses one nmap process at a time. */
  @IsInt() @Min(1) @Max(64)
  WORKER_CONCURRENCY: number = 2;

  /** Must stay well under the tasker's TASKER_LEASE_SECONDS: a few missed beats re-queue the task. */
  @IsInt() @Min(1) @Max(300)
  WORKER_HEARTBEAT_SECONDS: number = 5;

  /** After SIGTERM, nmap gets this long to exit before SIGKILL. */
  @IsInt() @Min(100) @Max(60_000)
  WORKER_KILL_GRACE_MS: number = 2000;

  /**
   * How long the group waits for a silent worker before giving its partitions to others; with the
   * tasker's lease it bounds how soon a dead worker's task runs elsewhere. The broker's
   * group.min.session.timeout.ms (6 s by default) is the floor.
   */
  @IsInt() @Min(6000) @Max(300_000)
  WORKER_SESSION_TIMEOUT_MS: number = 30_000;

  /** The address targets see scans come from, when known; shown in the fleet view. */
  @IsOptional() @IsIP()
  WORKER_EGRESS_IP?: string;

  /** Or a URL that answers with the caller's address as plain text (run your own; nothing is called by default). */
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  WORKER_EGRESS_DISCOVERY_URL?: string;

  /** Revocations older than this are not read at start (a start of such a task is revoked by the planner anyway). */
  @IsInt() @Min(1) @Max(8760)
  WORKER_CONTROL_LOOKBACK_HOURS: number = 168;

  /** "auto": nmap runs under setpriv --pdeathsig SIGKILL when available, so it dies with a killed worker. */
  @IsIn(['auto', 'off'])
  WORKER_PDEATHSIG: string = 'auto';

  @IsOptional() @Matches(/^\/[A-Za-z0-9._/-]+$/, { message: 'must be an absolute path of [A-Za-z0-9._/-]' })
  WORKER_TMP_DIR?: string;
}
