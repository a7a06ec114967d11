// nmap command lines as argv arrays for execFile/spawn, never a shell string. Every element is an
// option name written here, a number or port list rendered from validated values, the output path
// the worker chose, or the canonical text of an IP literal.
//
// Phase 1 does not pass --open: with it nmap leaves hosts without open ports out of the report, and
// the worker must still upload "scanned, nothing open" (insert-mode resumption relies on it). The
// XML stays small anyway because nmap folds runs of closed/filtered ports into <extraports>.
// No --host-timeout either: a host that hits it is reported with no ports at all, which in replace
// mode would close everything the ledger knew; the worker enforces timeoutSeconds by stopping nmap.

import { formatIp, isIPv4Mapped, parseIp } from './ip.js';
import { formatPortSpec, mergePortRanges, parsePortSpec, splitPortRanges, type PortRange } from './ports.js';
import { validateScanConfig, type ScanConfig, type ScanConfigError, type ScanProtocol } from './scan-config.js';

/** Every option name the builders can emit; anything else in an argv is a value. */
export const NMAP_OPTION_NAMES = [
  '-sS',
  '-sT',
  '-sU',
  '-sV',
  '-sC',
  '-A',
  '-O',
  '--traceroute',
  '--version-intensity',
  '-p',
  '-p-',
  '--top-ports',
  '-Pn',
  '-n',
  '--max-retries',
  '--min-rtt-timeout',
  '--max-rtt-timeout',
  '--initial-rtt-timeout',
  '--min-rate',
  '--max-rate',
  '-6',
  '-oX',
] as const;

export interface ScanTarget {
  /** An IP literal; host names are resolved and collapsed before a task exists. */
  readonly ip: string;
  /** A port shard (see shardPorts); replaces the config's selection for this task. */
  readonly ports?: string;
}

export interface OpenPort {
  readonly proto: ScanProtocol;
  readonly port: number;
}

export class NmapArgvError extends Error {
  readonly code = 'SCANNING.NMAP_ARGV_INVALID';
  constructor(
    message: string,
    readonly errors: readonly ScanConfigError[] = [],
  ) {
    super(message);
  }
}

export class ShardingError extends Error {
  readonly code = 'SCANNING.SHARDING_UNSUPPORTED';
}

// Worker temp files: absolute, plain characters, no "..": nothing a shell or nmap could reinterpret.
const OUTPUT_PATH = /^\/[A-Za-z0-9._/-]+$/;

function checkedConfig(config: ScanConfig): ScanConfig {
  const v = validateScanConfig(config);
  if (!v.ok) throw new NmapArgvError(`invalid scan config: ${v.errors.map((e) => `${e.path || 'config'}: ${e.message}`).join('; ')}`, v.errors);
  return v.config;
}

function checkedIp(ip: unknown): { text: string; v6: boolean } {
  const p = typeof ip === 'string' ? parseIp(ip) : null;
  if (p === null) throw new NmapArgvError(`target must be an IP literal, got ${JSON.stringify(ip)?.slice(0, 60)}`);
  if (p.family === 6 && isIPv4Mapped(p.value)) throw new NmapArgvError('IPv4-mapped IPv6 targets are refused; use the IPv4 address');
  return { text: formatIp(p), v6: p.family === 6 };
}

function checkedOutputPath(path: unknown): string {
  if (typeof path !== 'string' || !OUTPUT_PATH.test(path) || path.split('/').includes('..') || path.endsWith('/')) {
    throw new NmapArgvError(`output path must be an absolute file path of [A-Za-z0-9._/-] without "..", got ${JSON.stringify(path)?.slice(0, 80)}`);
  }
  return path;
}

function checkedPorts(spec: unknown): string {
  const p = typeof spec === 'string' ? parsePortSpec(spec) : ({ ok: false, message: 'port shard must be text' } as const);
  if (!p.ok) throw new NmapArgvError(`invalid port shard: ${p.message}`);
  return formatPortSpec(p.ranges);
}

function timing(o: ScanConfig['openPorts']): string[] {
  const out: string[] = [];
  if (o.maxRetries !== undefined) out.push('--max-retries', String(o.maxRetries));
  if (o.minRttMs !== undefined) out.push('--min-rtt-timeout', `${o.minRttMs}ms`);
  if (o.maxRttMs !== undefined) out.push('--max-rtt-timeout', `${o.maxRttMs}ms`);
  if (o.initialRttMs !== undefined) out.push('--initial-rtt-timeout', `${o.initialRttMs}ms`);
  if (o.minRate !== undefined) out.push('--min-rate', String(o.minRate));
  if (o.maxRate !== undefined) out.push('--max-rate', String(o.maxRate));
  return out;
}

/** Phase 1: find the open ports of one host. */
export function buildOpenPortsArgv(config: ScanConfig, target: ScanTarget, outputPath: string): string[] {
  const c = checkedConfig(config);
  const ip = checkedIp(target?.ip);
  const out = checkedOutputPath(outputPath);
  const o = c.openPorts;
  const argv: string[] = [];
  if (o.protocols.includes('tcp')) argv.push(o.scanType === 'syn' ? '-sS' : '-sT');
  if (o.protocols.includes('udp')) argv.push('-sU');
  if (target.ports !== undefined) argv.push('-p', checkedPorts(target.ports));
  else if (o.ports !== undefined) argv.push('-p', o.ports);
  else if (o.topPorts !== undefined) argv.push('--top-ports', String(o.topPorts));
  else argv.push('-p-');
  if (!o.hostDiscovery) argv.push('-Pn');
  if (!o.dns) argv.push('-n');
  argv.push(...timing(o));
  if (ip.v6) argv.push('-6');
  argv.push('-oX', out, ip.text);
  return argv;
}

/**
 * Phase 2: service detection on exactly the ports phase 1 found open. The host is known to be up
 * (-Pn). A max-rate limit carries over, since it protects the target rather than tunes phase 1.
 */
export function buildServicesArgv(config: ScanConfig, target: Pick<ScanTarget, 'ip'>, openPorts: readonly OpenPort[], outputPath: string): string[] {
  const c = checkedConfig(config);
  if (c.services === false) throw new NmapArgvError('this config has no services phase (services: false)');
  const s = c.services;
  const ip = checkedIp(target?.ip);
  const out = checkedOutputPath(outputPath);
  const byProto: Record<ScanProtocol, PortRange[]> = { tcp: [], udp: [] };
  for (const p of openPorts ?? []) {
    if ((p?.proto !== 'tcp' && p?.proto !== 'udp') || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new NmapArgvError(`open port must be {proto: tcp|udp, port: 1..65535}, got ${JSON.stringify(p)?.slice(0, 60)}`);
    }
    byProto[p.proto].push([p.port, p.port]);
  }
  const tcp = formatPortSpec(mergePortRanges(byProto.tcp));
  const udp = formatPortSpec(mergePortRanges(byProto.udp));
  if (!tcp && !udp) throw new NmapArgvError('no open ports: phase 2 has nothing to look at');

  const argv: string[] = [];
  if (tcp) argv.push(c.openPorts.scanType === 'syn' ? '-sS' : '-sT');
  if (udp) argv.push('-sU');
  argv.push('-sV');
  if (s.versionIntensity !== undefined) argv.push('--version-intensity', String(s.versionIntensity));
  if (s.defaultScripts) argv.push('-sC');
  if (s.aggressive) argv.push('-A');
  if (s.osDetection) argv.push('-O');
  if (s.traceroute) argv.push('--traceroute');
  // With UDP in the list nmap needs T:/U: to know which protocol each port belongs to.
  argv.push('-p', udp ? [tcp && `T:${tcp}`, `U:${udp}`].filter(Boolean).join(',') : tcp);
  argv.push('-Pn');
  if (!c.openPorts.dns) argv.push('-n');
  if (c.openPorts.maxRate !== undefined) argv.push('--max-rate', String(c.openPorts.maxRate));
  if (ip.v6) argv.push('-6');
  argv.push('-oX', out, ip.text);
  return argv;
}

export interface PortShard {
  readonly index: number;
  readonly of: number;
  /** The shard's port list for ScanTarget.ports; absent when there is one shard (use the config's selection). */
  readonly ports?: string;
}

/**
 * Splits a config's ports into `shards` disjoint, balanced lists (fewer when there are fewer
 * ports). topPorts is refused for more than one shard: the top-ports table is inside the nmap
 * binary, differs between nmap versions and between TCP and UDP, so a split made here could
 * silently differ from what nmap would have scanned.
 */
export function shardPorts(config: ScanConfig, shards: number = config.shards): PortShard[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new ShardingError(`shards must be 1..64, got ${shards}`);
  if (shards === 1) return [{ index: 0, of: 1 }];
  const o = config.openPorts;
  if (o.topPorts !== undefined) {
    throw new ShardingError('topPorts cannot be sharded: list the ports (ports) or use allPorts');
  }
  let ranges: readonly PortRange[];
  if (o.ports !== undefined) {
    const p = parsePortSpec(o.ports);
    if (!p.ok) throw new ShardingError(`invalid ports: ${p.message}`);
    ranges = p.ranges;
  } else {
    ranges = [[1, 65535]];
  }
  const groups = splitPortRanges(ranges, shards);
  return groups.map((g, index) => ({ index, of: groups.length, ports: formatPortSpec(g) }));
}
