import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { DatabaseEnv } from '#platform';

export class TaskerEnv extends DatabaseEnv {
  @IsInt() @Min(1) @Max(65535)
  TASKER_PORT: number = 8080;

  /** Largest CIDR or range one input may name, per family (the default: /16). */
  @IsInt() @Min(0) @Max(32)
  TASKER_CIDR_CAP_V4: number = 16;

  @IsInt() @Min(96) @Max(128)
  TASKER_CIDR_CAP_V6: number = 112;

  @IsInt() @Min(1) @Max(1_000_000)
  TASKER_MAX_INPUTS: number = 100_000;

  @IsInt() @Min(50) @Max(60_000)
  TASKER_DNS_TIMEOUT_MS: number = 2000;

  @IsInt() @Min(0) @Max(10)
  TASKER_DNS_RETRIES: number = 2;

  @IsInt() @Min(1) @Max(256)
  TASKER_DNS_CONCURRENCY: number = 32;

  /** Past this many addresses per shard, tasks hold blocks of addresses (see docs/scanning.md). */
  @IsInt() @Min(1) @Max(16_777_216)
  TASKER_MAX_TASKS_PER_SCAN: number = 8192;

  @IsInt() @Min(1) @Max(4096)
  TASKER_MAX_ADDRESSES_PER_TASK: number = 256;

  /** Runs per task, the first included. */
  @IsInt() @Min(1) @Max(20)
  TASKER_TASK_MAX_ATTEMPTS: number = 3;

  /** A running task whose worker has not named it in a heartbeat for this long is re-queued. */
  @IsInt() @Min(2) @Max(3600)
  TASKER_LEASE_SECONDS: number = 30;

  @IsInt() @Min(1) @Max(600)
  TASKER_LEASE_CHECK_SECONDS: number = 5;

  /** A worker silent for this long leaves the fleet view. */
  @IsInt() @Min(2) @Max(86_400)
  TASKER_WORKER_DEAD_SECONDS: number = 60;

  /** Targets finished by the same command this recently are skipped when it runs again (resume). */
  @IsInt() @Min(0) @Max(8760)
  TASKER_RESUME_WINDOW_HOURS: number = 168;

  /** How long POST /scans waits for the planner before answering 202 with the scan still planning. */
  @IsInt() @Min(100) @Max(600_000)
  TASKER_PLAN_WAIT_MS: number = 30_000;

  @IsInt() @Min(1) @Max(10_000)
  TASKER_PLANNER_BATCH: number = 200;

  /** How often the dispatch clock looks for scan-window edges and released emergency stops. */
  @IsInt() @Min(100) @Max(60_000)
  TASKER_DISPATCH_CHECK_MS: number = 1000;

  @IsOptional() @IsString()
  TASKER_PROFILES_DIR?: string;

  /** Coverage dedup: coverage older than this many hours does not count unless a request says otherwise (0: it always counts). */
  @IsInt() @Min(0) @Max(876_000)
  TASKER_COVERAGE_STALE_AFTER_HOURS: number = 0;

  /** nmap-services, to resolve top-N requests to ports for coverage dedup; default: nmap's usual path if present; "off": never. */
  @IsOptional() @IsString()
  TASKER_NMAP_SERVICES?: string;
}
