// The planner's decision for one scan request: which addresses become tasks, in which blocks, and
// why the others were skipped. Pure: the app looks up what is running, queued, done and known and
// passes it in, inside the planner's single-writer transaction for the project.

import type { AddressRanges, PortShardJson, SkipReason } from '#events';
import type { ScanConfig } from '../scanning/scan-config.js';
import { parseIp, type IpFamily } from '../scanning/ip.js';
import type { TargetSet } from '../scanning/targets.js';
import { addressesPerTask, blocksOf, countBlocks, EMPTY_SET, intersectSets, rangesToSet, setHas, sizeOf, subtractSets } from './address-sets.js';
import { derivedUuid } from './ids.js';
import { planKeys } from './portset.js';

export interface PlanLimits {
  /** Past this many addresses per shard, tasks hold more than one address (see addressesPerTask). */
  readonly maxTasks: number;
  readonly maxAddressesPerTask: number;
}

export interface PlanScanInput {
  readonly scanId: string;
  readonly config: ScanConfig;
  readonly rescan: boolean;
  readonly targets: TargetSet;
  readonly hostnames: Readonly<Record<string, readonly string[]>>;
  readonly limits: PlanLimits;
}

/** What the planner's store knows, keyed by planKeys(config). */
export interface PlanWorld {
  running(portsetKey: string): TargetSet;
  queued(portsetKey: string): TargetSet;
  /** Finished by a task with the same config fingerprint (within the app's resume window). */
  done(fingerprint: string): TargetSet;
  /** Addresses of the request the ledger already has; consulted in insert mode only. */
  known(): TargetSet;
}

export interface PlannedTask {
  readonly taskId: string;
  readonly shard: PortShardJson;
  readonly portsetKey: string;
  readonly fingerprint: string;
  readonly family: IpFamily;
  readonly ranges: AddressRanges;
  readonly addresses: number;
  readonly hostnames: Readonly<Record<string, readonly string[]>>;
}

export interface ScanPlan {
  /** Tasks in address order, made lazily (a /12 never sits in memory as 16k objects); the same ids on every call. */
  tasks(): Generator<PlannedTask, void, undefined>;
  readonly taskCount: number;
  /** In address × shard units (addresses when the config has one shard). */
  readonly skipped: Readonly<Record<SkipReason, number>>;
  readonly queuedAddresses: number;
  readonly addressesPerTask: number;
  /** Known hosts skipped in insert mode that came with host names: the names still reach the ledger. */
  readonly hostnameMerges: readonly { readonly ip: string; readonly hostnames: readonly string[] }[];
}

export const taskIdFor = (scanId: string, shardIndex: number, ranges: AddressRanges): string =>
  derivedUuid('task', scanId, String(shardIndex), JSON.stringify(ranges));

export function planScan(input: PlanScanInput, world: PlanWorld): ScanPlan {
  const { config, targets } = input;
  const skipped: Record<SkipReason, number> = { already_running: 0, already_queued: 0, already_done: 0, already_known: 0 };
  const insert = config.importMode === 'insert';
  const known = insert ? intersectSets(targets, world.known()) : EMPTY_SET;

  // Order matters only for the counts: an address both running and done counts as running.
  const take = (rest: TargetSet, away: TargetSet, reason: SkipReason): TargetSet => {
    if (away.v4.length === 0 && away.v6.length === 0) return rest;
    const left = subtractSets(rest, away);
    skipped[reason] += sizeOf(rest) - sizeOf(left);
    return left;
  };
  const shards = planKeys(config).map((k) => {
    let rest = targets;
    rest = take(rest, world.running(k.portsetKey), 'already_running');
    rest = take(rest, world.queued(k.portsetKey), 'already_queued');
    if (!input.rescan) rest = take(rest, world.done(k.fingerprint), 'already_done');
    if (insert) rest = take(rest, known, 'already_known');
    return { keys: k, rest };
  });

  const queuedAddresses = shards.reduce((n, s) => n + sizeOf(s.rest), 0);
  const perTask = addressesPerTask(Math.max(...shards.map((s) => sizeOf(s.rest)), 0), input.limits.maxTasks, input.limits.maxAddressesPerTask);
  const named = Object.entries(input.hostnames)
    .map(([ip, names]) => ({ ip, names, parsed: parseIp(ip) }))
    .filter((x) => x.parsed !== null && x.names.length > 0);
  // Names by aligned window, so each block finds its own without a pass over all names.
  const windowOf = (family: IpFamily, value: number | bigint) => `${family}:${(BigInt(value) / BigInt(perTask)).toString()}`;
  const namesByWindow = new Map<string, typeof named>();
  for (const n of named) {
    const k = windowOf(n.parsed!.family, n.parsed!.value);
    namesByWindow.set(k, [...(namesByWindow.get(k) ?? []), n]);
  }

  function* tasks(): Generator<PlannedTask, void, undefined> {
    for (const { keys, rest } of shards) {
      for (const block of blocksOf(rest, perTask)) {
        const first = parseIp(block.ranges[0][0])!;
        const hostnames: Record<string, readonly string[]> = {};
        const candidates = namesByWindow.get(windowOf(first.family, first.value));
        if (candidates) {
          const set = rangesToSet(block.ranges);
          for (const n of candidates) if (setHas(set, n.ip)) hostnames[n.ip] = n.names;
        }
        yield {
          taskId: taskIdFor(input.scanId, keys.shard.index, block.ranges),
          shard: keys.shard,
          portsetKey: keys.portsetKey,
          fingerprint: keys.fingerprint,
          family: block.family,
          ranges: block.ranges,
          addresses: block.count,
          hostnames,
        };
      }
    }
  }

  const hostnameMerges = insert ? named.filter((x) => setHas(known, x.ip)).map((x) => ({ ip: x.ip, hostnames: x.names })) : [];
  const taskCount = shards.reduce((n, s) => n + countBlocks(s.rest, perTask), 0);
  return { tasks, taskCount, skipped, queuedAddresses, addressesPerTask: perTask, hostnameMerges };
}
