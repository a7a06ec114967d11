/**
 * The topic catalogue. Event topics keep everything forever (delete policy with infinite retention,
 * never compaction), so projections can always be rebuilt from offset zero.
 * Partition counts bound the parallelism of each consumer group; raise them before adding instances.
 */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** What the Kafka key is, and so the unit of ordering. */
  readonly key: string;
  readonly description: string;
  readonly configs: Readonly<Record<string, string>>;
}

export const FOREVER: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'retention.bytes': '-1',
  'max.message.bytes': '10485760',
};

const topic = (name: string, partitions: number, key: string, description: string): TopicSpec => ({
  name,
  partitions,
  key,
  description,
  configs: FOREVER,
});

export const Topics = {
  identity: topic('falcoria.identity', 1, 'userId', 'users, tokens, roles (one partition: total order for a small stream)'),
  projects: topic('falcoria.projects', 6, 'projectId', 'project lifecycle, membership, scope and settings'),
  ledger: topic('falcoria.ledger', 12, 'projectId', 'imports, host observations from imports and scans, host deletions'),
  scans: topic('falcoria.scans', 12, 'projectId', 'scan requests, planned tasks, task lifecycle, cancellations'),
  tasks: topic('falcoria.tasks', 12, 'taskId', 'work items offered to workers'),
  workers: topic('falcoria.workers', 3, 'workerId', 'worker announcements and heartbeats'),
  // One partition: every worker reads all of it (its own group, no commits), in order.
  workerControl: topic('falcoria.worker-control', 1, '"control"', 'commands every worker reads in full: task revocations (cancels, superseded or expired leases)'),
  // One partition, tiny, read in full from offset 0 by every worker and tasker: the emergency stop
  // must never fall out of a look-back window, however long it has been active.
  fleetControl: topic('falcoria.fleet-control', 1, '"fleet"', 'the emergency stop: EmergencyStopActivated / EmergencyStopReleased, read in full by every worker and tasker'),
  deadLetters: topic('falcoria.dead-letters', 3, 'original key', 'messages a consumer could not handle after N attempts, with the reason'),
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics]['name'];

export const allTopics = (): readonly TopicSpec[] => Object.values(Topics);

/** Lets tests and parallel deployments share one cluster: every topic name gets the prefix. */
export const withPrefix = (spec: TopicSpec, prefix: string): TopicSpec => (prefix ? { ...spec, name: `${prefix}${spec.name}` } : spec);
