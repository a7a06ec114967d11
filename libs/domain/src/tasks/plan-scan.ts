// The planner's decision for one scan request: which addresses become tasks, in which blocks, and
// why the others were skipped. Pure: the app looks up what is running, queued, done, known and
// covered and passes it in, inside the planner's single-writer transaction for the project.

import type { AddressRanges, ImportMode, PortShardJson, SkipReason } from '#events';
import type { ScanConfig } from '../scanning/scan-config.js';
import { parseIp, type IpFamily } from '../scanning/ip.js';
import { iterateTargets, type TargetSet } from '../scanning/targets.js';
import { addressesPerTask, blocksOf, countBlocks, EMPTY_SET, intersectSets, rangesToSet, setHas, sizeOf, subtractSets, unionSets } from './address-sets.js';
import { hostWork, remainingWork, requestedPorts, unitKey, type CoverageSpan, type DedupMode, type TopPortsTable, type WorkUnit } from './coverage-dedup.js';
import { derivedUuid } from './ids.js';
import { planKeys, type ShardKeys } from './portset.js';

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
  /**
   * coverage: a known host gets tasks only for the ports the ledger's coverage lacks (see
   * coverage-dedup.ts). none (the default): insert mode skips known hosts whole, other modes scan them.
   */
  readonly dedup?: DedupMode;
  /** The request's time; coverage staleness counts back from it. */
  readonly now?: string;
  /** Coverage older than this does not count; null/absent: it always counts. */
  readonly staleAfterMs?: number | null;
  /** Resolves top-N requests to their ports; without it a top-N host is covered only by a scan of every port. */
  readonly topPorts?: TopPortsTable;
}

/** What the planner's store knows, keyed by planKeys(config). */
export interface PlanWorld {
  running(portsetKey: string): TargetSet;
  queued(portsetKey: string): TargetSet;
  /** Finished by a task with the same config fingerprint (within the app's resume window). */
  done(fingerprint: string): TargetSet;
  /** Addresses of the request the ledger already has; consulted in insert mode and for coverage dedup. */
  known(): TargetSet;
  /** What the ledger says was scanned on a known host (canonical address text); consulted for coverage dedup. */
  coverage?(ip: string): readonly CoverageSpan[];
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
  /** The config's, except for known hosts' remainders in insert mode (append: see planScan). */
  readonly importMode: ImportMode;
}

export interface ScanPlan {
  /** Tasks in address order, made lazily (a /12 never sits in memory as 16k objects); the same ids on every call. */
  tasks(): Generator<PlannedTask, void, undefined>;
  readonly taskCount: number;
  /** In address × shard units (addresses when the config has one shard). */
  readonly skipped: Readonly<Record<SkipReason, number>>;
  readonly queuedAddresses: number;
  readonly addressesPerTask: number;
  /** Known hosts skipped (covered, or known in insert mode) that came with host names: the names still reach the ledger. */
  readonly hostnameMerges: readonly { readonly ip: string; readonly hostnames: readonly string[] }[];
  /** Address × shard units queued for only part of the request because the rest is covered. */
  readonly partiallyCovered: number;
}

export const taskIdFor = (scanId: string, shardIndex: number, ranges: AddressRanges): string =>
  derivedUuid('task', scanId, String(shardIndex), JSON.stringify(ranges));

/** One set of tasks: addresses of one shard that need the same unit of work in the same import mode. */
interface Group {
  readonly keys: ShardKeys;
  readonly shard: PortShardJson;
  readonly importMode: ImportMode;
  /** null: the request as asked (task ids as before coverage dedup existed). */
  readonly key: string | null;
  readonly set: TargetSet;
}

const pairs = (ips: readonly string[]): TargetSet => (ips.length ? rangesToSet(ips.map((ip) => [ip, ip] as const)) : EMPTY_SET);

export function planScan(input: PlanScanInput, world: PlanWorld): ScanPlan {
  const { config, targets } = input;
  const skipped: Record<SkipReason, number> = { already_running: 0, already_queued: 0, already_done: 0, already_known: 0, covered: 0 };
  const insert = config.importMode === 'insert';
  const byCoverage = input.dedup === 'coverage';
  const known = insert || byCoverage ? intersectSets(targets, world.known()) : EMPTY_SET;
  const now = input.now ?? new Date().toISOString();
  const plainUnit = unitKey({ protocols: config.openPorts.protocols });

  // Order matters only for the counts: an address both running and done counts as running.
  const take = (rest: TargetSet, away: TargetSet, reason: SkipReason): TargetSet => {
    if (away.v4.length === 0 && away.v6.length === 0) return rest;
    const left = subtractSets(rest, away);
    skipped[reason] += sizeOf(rest) - sizeOf(left);
    return left;
  };
  const groups: Group[] = [];
  const covered: string[] = [];
  let partiallyCovered = 0;
  let queuedAddresses = 0;
  let largestShard = 0;
  for (const k of planKeys(config)) {
    let rest = targets;
    rest = take(rest, world.running(k.portsetKey), 'already_running');
    rest = take(rest, world.queued(k.portsetKey), 'already_queued');
    if (!input.rescan) rest = take(rest, world.done(k.fingerprint), 'already_done');
    const plain = { keys: k, shard: k.shard, importMode: config.importMode, key: null };
    if (!byCoverage) {
      if (insert) rest = take(rest, known, 'already_known');
      groups.push({ ...plain, set: rest });
      queuedAddresses += sizeOf(rest);
      largestShard = Math.max(largestShard, sizeOf(rest));
      continue;
    }
    // Coverage: known hosts get what their coverage lacks; hosts the ledger never saw get the request.
    const knownHere = intersectSets(rest, known);
    const requested = requestedPorts(config, k.shard, input.topPorts);
    // Insert mode leaves a known host untouched in the ledger, so the uncovered ports of one are
    // merged as append: ports that may listen are added, nothing stored is overwritten.
    const knownMode: ImportMode = insert ? 'append' : config.importMode;
    const byUnit = new Map<string, { unit: WorkUnit; ips: string[] }>();
    const plainKnown: string[] = [];
    let queuedHere = sizeOf(rest) - sizeOf(knownHere);
    let units = queuedHere;
    for (const ip of iterateTargets(knownHere)) {
      const work = hostWork(config.openPorts.protocols, requested, remainingWork(requested, world.coverage?.(ip) ?? [], now, input.staleAfterMs ?? null));
      if (work.covered) {
        skipped.covered++;
        covered.push(ip);
        continue;
      }
      if (work.partial) partiallyCovered++;
      queuedHere++;
      for (const unit of work.units) {
        units++;
        const key = `${unitKey(unit)}|${knownMode}`;
        if (key === `${plainUnit}|${config.importMode}`) plainKnown.push(ip);
        else {
          const g = byUnit.get(key) ?? { unit, ips: [] };
          g.ips.push(ip);
          byUnit.set(key, g);
        }
      }
    }
    groups.push({ ...plain, set: unionSets([subtractSets(rest, knownHere), pairs(plainKnown)]) });
    for (const [key, { unit, ips }] of [...byUnit].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const shard: PortShardJson = {
        ...k.shard,
        ...(unit.ports !== undefined ? { ports: unit.ports } : {}),
        ...(unit.protocols.length < config.openPorts.protocols.length ? { protocols: unit.protocols } : {}),
      };
      groups.push({ keys: k, shard, importMode: knownMode, key, set: pairs(ips) });
    }
    queuedAddresses += queuedHere;
    largestShard = Math.max(largestShard, units);
  }

  const perTask = addressesPerTask(largestShard, input.limits.maxTasks, input.limits.maxAddressesPerTask);
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
    for (const g of groups) {
      for (const block of blocksOf(g.set, perTask)) {
        const first = parseIp(block.ranges[0][0])!;
        const hostnames: Record<string, readonly string[]> = {};
        const candidates = namesByWindow.get(windowOf(first.family, first.value));
        if (candidates) {
          const set = rangesToSet(block.ranges);
          for (const n of candidates) if (setHas(set, n.ip)) hostnames[n.ip] = n.names;
        }
        yield {
          taskId: g.key === null ? taskIdFor(input.scanId, g.shard.index, block.ranges) : derivedUuid('task', input.scanId, String(g.shard.index), JSON.stringify(block.ranges), g.key),
          shard: g.shard,
          portsetKey: g.keys.portsetKey,
          fingerprint: g.keys.fingerprint,
          family: block.family,
          ranges: block.ranges,
          addresses: block.count,
          hostnames,
          importMode: g.importMode,
        };
      }
    }
  }

  // Names the request brought for hosts it skips as the ledger's still belong there.
  const skippedKnown = byCoverage ? pairs(covered) : insert ? known : EMPTY_SET;
  const hostnameMerges = named.filter((x) => setHas(skippedKnown, x.ip)).map((x) => ({ ip: x.ip, hostnames: x.names }));
  const taskCount = groups.reduce((n, g) => n + countBlocks(g.set, perTask), 0);
  return { tasks, taskCount, skipped, queuedAddresses, addressesPerTask: perTask, hostnameMerges, partiallyCovered };
}
