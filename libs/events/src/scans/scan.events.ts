// The scanning contract: scan requests and their plan, task lifecycle, the work offered to workers,
// the worker fleet and the control channel. Who writes what:
//   falcoria.scans (key projectId)   HTTP (ScanRequested, ScanCancelRequested), the planner (ScanPlanned,
//                                    TasksQueued, TasksCancelled, ScanFinished), workers (TaskStarted,
//                                    TaskCompleted, TaskFailed) and the lease watchdog (TaskLeaseExpired).
//   falcoria.tasks (key taskId)      the planner only (TaskOffered), read by the workers' group.
//   falcoria.workers (key workerId)  each worker about itself.
//   falcoria.worker-control          the planner only (TasksRevoked), read in full by every worker.
// Results do not travel here: workers write HostObserved straight to the ledger topic.

import type { Envelope } from '../core/envelope.js';
import { eventCatalogue } from '../core/catalogue.js';
import { array, bool, int, literal, nullable, object, optional, record, SchemaError, str, type Check } from '../core/schema.js';
import { Topics } from '../core/topics.js';
import type { ImportMode } from '../ledger/ledger.events.js';

/** Inclusive [first, last] address pairs of one family each (libs/domain's TargetSetJson). */
export type AddressRanges = readonly (readonly [first: string, last: string])[];

/**
 * A validated ScanConfig (libs/domain scanning/scan-config.ts) as plain JSON. The contract keeps it
 * opaque so that libs/events stays below libs/domain; every reader re-validates it before use.
 */
export type ScanConfigJson = Readonly<Record<string, unknown>>;

export interface PortShardJson {
  readonly index: number;
  readonly of: number;
  /** The shard's own port list; absent for one shard (the config's selection applies). */
  readonly ports?: string;
  /**
   * Only these of the config's protocols (coverage dedup: TCP and UDP left with different
   * remainders become separate tasks); absent: all of them.
   */
  readonly protocols?: readonly ('tcp' | 'udp')[];
}

/** covered: the ledger's coverage holds every requested port of the host (coverage dedup, issue 8). */
export type SkipReason = 'already_running' | 'already_queued' | 'already_done' | 'already_known' | 'covered';
export const SKIP_REASONS: readonly SkipReason[] = ['already_running', 'already_queued', 'already_done', 'already_known', 'covered'];

export type TaskFailureReason =
  | 'timeout'
  | 'nmap_error'
  | 'parse_error'
  | 'invalid_task'
  | 'unprivileged'
  | 'cancelled'
  | 'revoked'
  | 'worker_shutdown'
  | 'lease_expired'
  | 'interrupted'
  | 'internal';
export const TASK_FAILURE_REASONS: readonly TaskFailureReason[] = [
  'timeout',
  'nmap_error',
  'parse_error',
  'invalid_task',
  'unprivileged',
  'cancelled',
  'revoked',
  'worker_shutdown',
  'lease_expired',
  'interrupted',
  'internal',
];

/** What the request itself came to, before the planner looked at work in flight or done. */
export interface RequestSummaryJson {
  readonly provided: number;
  readonly duplicatesRemoved: number;
  readonly hostnamesCollapsed: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly excludedByScope: number;
  readonly accepted: number;
}

export interface ScanRequestedV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly idempotencyKey: string | null;
  /** sha256 of the normalised request, so an idempotency key reused for another request is refused. */
  readonly requestHash: string;
  readonly profile: string | null;
  readonly config: ScanConfigJson;
  /** false: targets a task with the same config finished recently are skipped (re-running resumes). */
  readonly rescan: boolean;
  readonly targets: { readonly ranges: AddressRanges };
  /** ip → names that led to it, for the addresses that came from host names. */
  readonly hostnames: Readonly<Record<string, readonly string[]>>;
  readonly summary: RequestSummaryJson;
  /**
   * How the plan dedups against the ledger: coverage subtracts the port ranges already scanned per
   * host and protocol; none scans what is asked. Absent (requests before issue 8): none.
   */
  readonly dedup?: 'coverage' | 'none';
  /** Coverage observed longer ago than this does not count; absent or null: it always counts. */
  readonly staleAfterSeconds?: number | null;
  /** The request was a gap fill (`scan start --gaps`); with no targets given they came from the scope and known hosts. */
  readonly gaps?: boolean;
}

export interface ScanPlannedV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly tasks: number;
  readonly queuedAddresses: number;
  readonly addressesPerTask: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Known hosts skipped (covered, or known in insert mode) whose new host names were sent to the ledger instead. */
  readonly hostnameMerges: number;
  /** Address × shard units of which only the uncovered part was queued (coverage dedup). */
  readonly partiallyCovered?: number;
  readonly dedup?: 'coverage' | 'none';
}

export interface QueuedTaskJson {
  readonly taskId: string;
  readonly attempt: number;
  readonly shard: PortShardJson;
  readonly ranges: AddressRanges;
}

export interface TasksQueuedV1 {
  readonly projectId: string;
  readonly scanId: string;
  /** recalled: taken back from workers under a new attempt (a window closed, a scan policy was set). */
  readonly reason: 'planned' | 'retry' | 'recalled';
  readonly tasks: readonly QueuedTaskJson[];
}

export interface TaskStartedV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
}

export interface TaskTimingsJson {
  /** When the worker read the offer, and when the first nmap process started (epoch ms, worker clock). */
  readonly receivedAt: number;
  readonly firstNmapAt?: number;
  /** Per nmap run: start, exit, and when the HostObserved it led to was acknowledged by Kafka. */
  readonly runs: readonly { readonly phase: 'open-ports' | 'services'; readonly ip: string; readonly startedAt: number; readonly exitedAt: number; readonly publishedAt?: number }[];
}

export interface TaskCompletedV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
  readonly hostsUp: number;
  readonly hostsDown: number;
  readonly durationMs: number;
  readonly timings?: TaskTimingsJson;
}

export interface TaskFailedV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
  readonly reason: TaskFailureReason;
  readonly message: string;
  /** false for failures a second run cannot fix (an invalid task, a cancel). */
  readonly retryable: boolean;
  readonly hostsUp: number;
}

export interface TaskLeaseExpiredV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
  /** The last sign of life the watchdog saw (TaskStarted or a heartbeat naming the task). */
  readonly lastSeenAt: string;
}

/** Exactly one of scanId (that scan), ips (those addresses, in that scan when scanId is set), or neither (the whole project). */
export interface ScanCancelRequestedV1 {
  readonly projectId: string;
  readonly cancelId: string;
  readonly scanId: string | null;
  readonly ips: readonly string[] | null;
}

export interface TasksCancelledV1 {
  readonly projectId: string;
  readonly cancelId: string;
  readonly scanIds: readonly string[];
  readonly taskIds: readonly string[];
  readonly queued: number;
  readonly running: number;
}

export type ScanFinalState = 'done' | 'failed' | 'cancelled';

export interface ScanFinishedV1 {
  readonly projectId: string;
  readonly scanId: string;
  readonly state: ScanFinalState;
  readonly done: number;
  readonly failed: number;
  readonly cancelled: number;
}

/** The unit of work a worker leases: one port shard of a block of addresses, self-contained. */
export interface TaskOfferedV1 {
  readonly taskId: string;
  readonly attempt: number;
  readonly projectId: string;
  readonly scanId: string;
  readonly config: ScanConfigJson;
  readonly shard: PortShardJson;
  readonly ranges: AddressRanges;
  readonly hostnames: Readonly<Record<string, readonly string[]>>;
  readonly importMode: ImportMode;
  /** Set by the project's scan policy: nmap --max-rate for every run of this task (its share of a rate budget). */
  readonly limits?: TaskLimitsJson;
}

export interface TaskLimitsJson {
  readonly maxRate?: number;
}

export interface WorkerIdentityJson {
  readonly workerId: string;
  readonly version: string;
  readonly hostname: string;
  readonly egressIp: string | null;
  readonly nmapVersion: string;
  readonly privileged: boolean;
  readonly concurrency: number;
}

export interface RunningTaskJson {
  readonly taskId: string;
  readonly attempt: number;
  readonly projectId: string;
  readonly scanId: string;
  readonly startedAt: string;
  /** The address nmap is working on now. */
  readonly currentIp: string | null;
}

export type WorkerAnnouncedV1 = WorkerIdentityJson;

/** Self-contained (identity repeated) so that a reader starting mid-stream knows the worker at once. */
export interface WorkerHeartbeatV1 extends WorkerIdentityJson {
  readonly running: readonly RunningTaskJson[];
  readonly heartbeatSeconds: number;
  /** True while the emergency stop holds this worker (no task runs, none is taken). */
  readonly stopped?: boolean;
}

export interface WorkerStoppedV1 {
  readonly workerId: string;
  readonly reason: string;
}

export interface RevokedTaskJson {
  readonly taskId: string;
  /** null: every attempt. */
  readonly attempt: number | null;
  /** null: whichever worker holds it. */
  readonly workerId: string | null;
}

export type RevocationReason = 'cancelled' | 'superseded' | 'not_current' | 'lease_expired';

export interface TasksRevokedV1 {
  readonly reason: RevocationReason;
  readonly scanIds: readonly string[];
  readonly tasks: readonly RevokedTaskJson[];
}

const S = Topics.scans.name;
const pair: Check<readonly [string, string]> = (v, p) => {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') throw new SchemaError(p, '[first, last] address pair');
  return v as unknown as readonly [string, string];
};
const rangesCheck = array(pair) as Check<AddressRanges>;
const hostnamesCheck = record(array(str)) as Check<Readonly<Record<string, readonly string[]>>>;
const shardCheck = object({ index: int, of: int, ports: optional(str), protocols: optional(array(literal('tcp', 'udp'))) }) as Check<PortShardJson>;
const configCheck = record((v) => v) as Check<ScanConfigJson>;
// covered is optional: plans recorded before coverage dedup do not have it.
const counts = object({ already_running: int, already_queued: int, already_done: int, already_known: int, covered: optional(int) }) as Check<Readonly<Record<SkipReason, number>>>;
const failure = literal(...(TASK_FAILURE_REASONS as TaskFailureReason[]));
const taskRef = { projectId: str, scanId: str, taskId: str, attempt: int, workerId: str };

eventCatalogue.define<'ScanRequested', ScanRequestedV1>({
  type: 'ScanRequested',
  topic: S,
  schemaVersion: 1,
  payload: object({
    projectId: str,
    scanId: str,
    idempotencyKey: nullable(str),
    requestHash: str,
    profile: nullable(str),
    config: configCheck,
    rescan: bool,
    targets: object({ ranges: rangesCheck }),
    hostnames: hostnamesCheck,
    summary: object({ provided: int, duplicatesRemoved: int, hostnamesCollapsed: int, refused: record(int), excludedByScope: int, accepted: int }),
    dedup: optional(literal('coverage', 'none')),
    staleAfterSeconds: optional(nullable(int)),
    gaps: optional(bool),
  }) as Check<ScanRequestedV1>,
});
eventCatalogue.define<'ScanPlanned', ScanPlannedV1>({
  type: 'ScanPlanned',
  topic: S,
  schemaVersion: 1,
  payload: object({
    projectId: str,
    scanId: str,
    tasks: int,
    queuedAddresses: int,
    addressesPerTask: int,
    skipped: counts,
    hostnameMerges: int,
    partiallyCovered: optional(int),
    dedup: optional(literal('coverage', 'none')),
  }) as Check<ScanPlannedV1>,
});
eventCatalogue.define<'TasksQueued', TasksQueuedV1>({
  type: 'TasksQueued',
  topic: S,
  schemaVersion: 1,
  payload: object({
    projectId: str,
    scanId: str,
    reason: literal('planned', 'retry', 'recalled'),
    tasks: array(object({ taskId: str, attempt: int, shard: shardCheck, ranges: rangesCheck })),
  }) as Check<TasksQueuedV1>,
});
eventCatalogue.define<'TaskStarted', TaskStartedV1>({
  type: 'TaskStarted',
  topic: S,
  schemaVersion: 1,
  payload: object(taskRef) as Check<TaskStartedV1>,
});
eventCatalogue.define<'TaskCompleted', TaskCompletedV1>({
  type: 'TaskCompleted',
  topic: S,
  schemaVersion: 1,
  payload: object({ ...taskRef, hostsUp: int, hostsDown: int, durationMs: int, timings: optional(object({ receivedAt: int, runs: array(object({ phase: str, ip: str, startedAt: int, exitedAt: int })) })) }) as Check<TaskCompletedV1>,
});
eventCatalogue.define<'TaskFailed', TaskFailedV1>({
  type: 'TaskFailed',
  topic: S,
  schemaVersion: 1,
  payload: object({ ...taskRef, reason: failure, message: str, retryable: bool, hostsUp: int }) as Check<TaskFailedV1>,
});
eventCatalogue.define<'TaskLeaseExpired', TaskLeaseExpiredV1>({
  type: 'TaskLeaseExpired',
  topic: S,
  schemaVersion: 1,
  payload: object({ ...taskRef, lastSeenAt: str }) as Check<TaskLeaseExpiredV1>,
});
eventCatalogue.define<'ScanCancelRequested', ScanCancelRequestedV1>({
  type: 'ScanCancelRequested',
  topic: S,
  schemaVersion: 1,
  payload: object({ projectId: str, cancelId: str, scanId: nullable(str), ips: nullable(array(str)) }) as Check<ScanCancelRequestedV1>,
});
eventCatalogue.define<'TasksCancelled', TasksCancelledV1>({
  type: 'TasksCancelled',
  topic: S,
  schemaVersion: 1,
  payload: object({ projectId: str, cancelId: str, scanIds: array(str), taskIds: array(str), queued: int, running: int }) as Check<TasksCancelledV1>,
});
eventCatalogue.define<'ScanFinished', ScanFinishedV1>({
  type: 'ScanFinished',
  topic: S,
  schemaVersion: 1,
  payload: object({ projectId: str, scanId: str, state: literal('done', 'failed', 'cancelled'), done: int, failed: int, cancelled: int }) as Check<ScanFinishedV1>,
});
eventCatalogue.define<'TaskOffered', TaskOfferedV1>({
  type: 'TaskOffered',
  topic: Topics.tasks.name,
  schemaVersion: 1,
  payload: object({
    taskId: str,
    attempt: int,
    projectId: str,
    scanId: str,
    config: configCheck,
    shard: shardCheck,
    ranges: rangesCheck,
    hostnames: hostnamesCheck,
    importMode: literal('insert', 'append', 'update', 'replace'),
    limits: optional(object({ maxRate: optional(int) })),
  }) as Check<TaskOfferedV1>,
});

const identity = { workerId: str, version: str, hostname: str, egressIp: nullable(str), nmapVersion: str, privileged: bool, concurrency: int };
eventCatalogue.define<'WorkerAnnounced', WorkerAnnouncedV1>({
  type: 'WorkerAnnounced',
  topic: Topics.workers.name,
  schemaVersion: 1,
  payload: object(identity) as Check<WorkerAnnouncedV1>,
});
eventCatalogue.define<'WorkerHeartbeat', WorkerHeartbeatV1>({
  type: 'WorkerHeartbeat',
  topic: Topics.workers.name,
  schemaVersion: 1,
  payload: object({
    ...identity,
    heartbeatSeconds: int,
    stopped: optional(bool),
    running: array(object({ taskId: str, attempt: int, projectId: str, scanId: str, startedAt: str, currentIp: nullable(str) })),
  }) as Check<WorkerHeartbeatV1>,
});
eventCatalogue.define<'WorkerStopped', WorkerStoppedV1>({
  type: 'WorkerStopped',
  topic: Topics.workers.name,
  schemaVersion: 1,
  payload: object({ workerId: str, reason: str }) as Check<WorkerStoppedV1>,
});
eventCatalogue.define<'TasksRevoked', TasksRevokedV1>({
  type: 'TasksRevoked',
  topic: Topics.workerControl.name,
  schemaVersion: 1,
  payload: object({
    reason: literal('cancelled', 'superseded', 'not_current', 'lease_expired'),
    scanIds: array(str),
    tasks: array(object({ taskId: str, attempt: nullable(int), workerId: nullable(str) })),
  }) as Check<TasksRevokedV1>,
});

export type ScanEvent =
  | Envelope<'ScanRequested', ScanRequestedV1>
  | Envelope<'ScanPlanned', ScanPlannedV1>
  | Envelope<'TasksQueued', TasksQueuedV1>
  | Envelope<'TaskStarted', TaskStartedV1>
  | Envelope<'TaskCompleted', TaskCompletedV1>
  | Envelope<'TaskFailed', TaskFailedV1>
  | Envelope<'TaskLeaseExpired', TaskLeaseExpiredV1>
  | Envelope<'ScanCancelRequested', ScanCancelRequestedV1>
  | Envelope<'TasksCancelled', TasksCancelledV1>
  | Envelope<'ScanFinished', ScanFinishedV1>;

export type TaskOfferEvent = Envelope<'TaskOffered', TaskOfferedV1>;

export type WorkerEvent =
  | Envelope<'WorkerAnnounced', WorkerAnnouncedV1>
  | Envelope<'WorkerHeartbeat', WorkerHeartbeatV1>
  | Envelope<'WorkerStopped', WorkerStoppedV1>;

export type WorkerControlEvent = Envelope<'TasksRevoked', TasksRevokedV1>;

/** The constant key of the worker-control topic (one partition, total order). */
export const WORKER_CONTROL_KEY = 'control';
