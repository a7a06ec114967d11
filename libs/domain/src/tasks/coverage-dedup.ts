// Deduplication against the ledger by coverage, not presence: what was scanned on a host, per
// protocol and port range, when and by which import or task, and what a request still needs after
// that. A host scanned on the top 1000 TCP ports is not "already scanned" for a full-range or a UDP
// request: only the part not yet covered is queued. Pure: the tasker's known-hosts projection folds
// observations with foldCoverage, the planner asks remainingWork and hostWork.

import type { PortRange, PortShardJson, Protocol } from '#events';
import { compareTime } from '../ledger/time.js';
import { countRangePorts, formatRangeList, normaliseRanges, subtractRanges, unionRanges } from '../ledger/port-ranges.js';
import { parsePortSpec } from '../scanning/ports.js';

// The projection stores range lists as text; its readers and writers are these.
export { formatRangeList, parseRangeList } from '../ledger/port-ranges.js';
import type { ScanConfig, ScanProtocol } from '../scanning/scan-config.js';

/** The ledger's own rule for how requests dedup against it; "none" scans what is asked. */
export type DedupMode = 'coverage' | 'none';
export const DEDUP_MODES: readonly DedupMode[] = ['coverage', 'none'];

/**
 * What a request dedups against when it does not say: the modes that add what is missing (insert,
 * append) skip what is covered; update and replace exist to refresh what is known, so they scan
 * what is asked (update-enrichment re-scans covered ports on purpose).
 */
export function defaultDedup(config: Pick<ScanConfig, 'importMode'>): DedupMode {
  return config.importMode === 'insert' || config.importMode === 'append' ? 'coverage' : 'none';
}

/** Ports of one protocol whose latest scan was `source` at `observedAt`. */
export interface CoverageSpan {
  readonly proto: Protocol;
  readonly ranges: readonly PortRange[];
  readonly observedAt: string;
  /** "import:<importId>" or "task:<taskId>" (sourceIdOf). */
  readonly source: string;
}

/**
 * Adds one observation's coverage of one protocol to a host's spans, as the ledger's fold does: each
 * port is attributed to the latest scan that covered it, so older spans lose what a newer one
 * covered and the list stays bounded. A later observation of the same source (masscan writes one
 * element per port) widens that source's span instead of adding another.
 */
export function foldCoverage(spans: readonly CoverageSpan[], add: CoverageSpan): CoverageSpan[] {
  let ranges = normaliseRanges(add.ranges);
  for (const s of spans) {
    if (s.proto === add.proto && s.source !== add.source && compareTime(s.observedAt, add.observedAt) >= 0) ranges = subtractRanges(ranges, s.ranges);
  }
  if (ranges.length === 0) return [...spans];
  const out: CoverageSpan[] = [];
  let merged = false;
  for (const s of spans) {
    if (s.proto !== add.proto) out.push(s);
    else if (s.source === add.source) {
      merged = true;
      out.push({ ...s, ranges: unionRanges(s.ranges, ranges), observedAt: compareTime(add.observedAt, s.observedAt) > 0 ? add.observedAt : s.observedAt });
    } else if (compareTime(s.observedAt, add.observedAt) < 0) {
      const left = subtractRanges(s.ranges, ranges);
      if (left.length) out.push({ ...s, ranges: left });
    } else out.push(s);
  }
  if (!merged) out.push({ proto: add.proto, ranges, observedAt: add.observedAt, source: add.source });
  return out;
}

/**
 * The ports a request asks for per protocol. null: a top-N list this tasker cannot resolve (no
 * nmap-services file), which only a scan of every port can be known to cover.
 */
export type RequestedPorts = Readonly<Partial<Record<ScanProtocol, readonly PortRange[] | null>>>;

/** nmap's top-ports lists, from an nmap-services file (see parseNmapServices). */
export interface TopPortsTable {
  top(proto: ScanProtocol, n: number): readonly PortRange[] | null;
}

/**
 * Reads nmap-services ("name port/proto open-frequency ...") into nmap's --top-ports order: by
 * open-frequency, highest first, then by port number. Checked against nmap 7.93's own resolution
 * (its <scaninfo services>) for TCP and UDP, N = 1 to 5000. More than the file lists gives the file.
 */
export function parseNmapServices(text: string): TopPortsTable {
  const byProto: Record<ScanProtocol, { port: number; ratio: number }[]> = { tcp: [], udp: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.trim().split(/\s+/);
    const m = /^(\d{1,5})\/(tcp|udp)$/.exec(f[1] ?? '');
    const ratio = Number(f[2]);
    if (m === null || !Number.isFinite(ratio)) continue;
    const port = Number(m[1]);
    if (port >= 1 && port <= 65535) byProto[m[2] as ScanProtocol].push({ port, ratio });
  }
  const sorted = (['tcp', 'udp'] as const).map((p) => [p, byProto[p].sort((a, b) => b.ratio - a.ratio || a.port - b.port).map((x) => x.port)] as const);
  const lists = Object.fromEntries(sorted) as Record<ScanProtocol, number[]>;
  const cache = new Map<string, PortRange[]>();
  return {
    top(proto, n) {
      if (lists[proto].length === 0) return null;
      const key = `${proto}:${n}`;
      let r = cache.get(key);
      if (r === undefined) {
        r = normaliseRanges(lists[proto].slice(0, n).map((p): PortRange => [p, p]));
        cache.set(key, r);
      }
      return r;
    },
  };
}

const ALL_PORTS: readonly PortRange[] = [[1, 65535]];

/** The concrete ports one shard of a config asks for, per protocol (top-N resolved when the table can). */
export function requestedPorts(config: ScanConfig, shard: Pick<PortShardJson, 'ports'>, topPorts?: TopPortsTable): RequestedPorts {
  const o = config.openPorts;
  const spec = shard.ports ?? o.ports;
  const out: Partial<Record<ScanProtocol, readonly PortRange[] | null>> = {};
  for (const p of o.protocols) {
    if (spec !== undefined) {
      const parsed = parsePortSpec(spec);
      out[p] = parsed.ok ? parsed.ranges : null;
    } else if (o.topPorts !== undefined) out[p] = topPorts?.top(p, o.topPorts) ?? null;
    else out[p] = ALL_PORTS;
  }
  return out;
}

/** null: no staleness (coverage counts however old it is). */
const freshSince = (now: string, staleAfterMs: number | null): string | null => (staleAfterMs === null ? null : new Date(Date.parse(now) - staleAfterMs).toISOString());

/**
 * requested − covered, per protocol, counting only coverage observed within staleAfterMs before now.
 * TCP and UDP are independent. A protocol whose request is unresolved (null) stays null unless its
 * fresh coverage is every port; [] means nothing is left to scan for it.
 */
export function remainingWork(requested: RequestedPorts, coverage: readonly CoverageSpan[], now: string, staleAfterMs: number | null): Partial<Record<ScanProtocol, PortRange[] | null>> {
  const since = freshSince(now, staleAfterMs);
  const out: Partial<Record<ScanProtocol, PortRange[] | null>> = {};
  for (const [proto, want] of Object.entries(requested) as [ScanProtocol, readonly PortRange[] | null][]) {
    const covered = normaliseRanges(coverage.filter((c) => c.proto === proto && (since === null || compareTime(c.observedAt, since) >= 0)).flatMap((c) => c.ranges));
    if (want === null) out[proto] = subtractRanges(ALL_PORTS, covered).length === 0 ? [] : null;
    else out[proto] = subtractRanges(normaliseRanges(want), covered);
  }
  return out;
}

/** Work for some protocols of a host: the request's own selection (no ports) or the listed ports only. */
export interface WorkUnit {
  readonly protocols: readonly ScanProtocol[];
  /** Absent: everything the request (its shard) asks for these protocols, as the config says it. */
  readonly ports?: string;
}

export interface HostWork {
  /** Empty when the host is covered. */
  readonly units: readonly WorkUnit[];
  readonly covered: boolean;
  /** Some but not all of the request is covered. */
  readonly partial: boolean;
}

/**
 * Past this length a remainder list is not worth its offer: the whole request for that protocol is
 * scanned instead (a scattered coverage can leave tens of thousands of holes; -p has a limit too).
 */
export const MAX_REMAINDER_SPEC = 16_000;

/**
 * The tasks one host needs for one shard: protocols with the same remainder share a unit (one nmap
 * run); TCP and UDP with different remainders get one unit each. Units are what tasks are grouped by,
 * so hosts with identical remainders land in the same tasks.
 */
export function hostWork(protocols: readonly ScanProtocol[], requested: RequestedPorts, remaining: Partial<Record<ScanProtocol, PortRange[] | null>>): HostWork {
  type State = { proto: ScanProtocol; ports?: string };
  const states: State[] = [];
  let anyCovered = false;
  for (const p of protocols) {
    const want = requested[p];
    const left = remaining[p];
    if (left === undefined || left === null) {
      states.push({ proto: p });
      continue;
    }
    if (left.length === 0) {
      anyCovered = true;
      continue;
    }
    // left ⊆ want, so the same count means nothing of this protocol was covered.
    const whole = want !== null && want !== undefined && countRangePorts(left) === countRangePorts(normaliseRanges(want));
    if (!whole) anyCovered = true;
    const text = formatRangeList(left);
    states.push(whole || text.length > MAX_REMAINDER_SPEC ? { proto: p } : { proto: p, ports: text });
  }
  if (states.length === 0) return { units: [], covered: true, partial: false };
  const same = states.every((s) => s.ports === states[0].ports);
  const units: WorkUnit[] = same
    ? [{ protocols: states.map((s) => s.proto), ...(states[0].ports !== undefined ? { ports: states[0].ports } : {}) }]
    : states.map((s) => ({ protocols: [s.proto], ...(s.ports !== undefined ? { ports: s.ports } : {}) }));
  return { units, covered: false, partial: anyCovered };
}

/** A stable name for a unit, for grouping and task ids. */
export const unitKey = (u: WorkUnit): string => `${u.protocols.join('+')}|${u.ports ?? '*'}`;

/**
 * The config a task of a shard runs with: a unit restricted to some protocols scans only those. The
 * worker applies it before anything else, so privileges and coverage follow the task, not the scan.
 * null: the shard names no protocol of the config (a task no worker should run).
 */
export function configForShard(config: ScanConfig, shard: Pick<PortShardJson, 'protocols'>): ScanConfig | null {
  if (!shard.protocols?.length) return config;
  const protocols = config.openPorts.protocols.filter((p) => shard.protocols!.includes(p));
  return protocols.length ? { ...config, openPorts: { ...config.openPorts, protocols } } : null;
}
