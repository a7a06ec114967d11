// Turning a worker's two nmap runs on one host into the observation the ledger folds: phase 1 says
// which ports are open, phase 2 says everything else about them and about the host, and nothing of
// phase 2 is dropped (all scripts, host scripts, OS, trace).

import type { Coverage, NmapHost, NmapHostname, NmapPort, NmapRunMeta, PortShardJson, Protocol } from '#events';
import { inferCoverage } from '../nmap-report/coverage.js';
import type { OpenPort } from '../scanning/nmap-argv.js';
import { parsePortSpec } from '../scanning/ports.js';
import type { ScanConfig } from '../scanning/scan-config.js';

/**
 * Ports worth a services run: open ones, and UDP open|filtered (version probes are how nmap tells
 * an open UDP port from a filtered one; dropping them was a bug of the reference implementation).
 */
export function portsForServices(host: NmapHost): OpenPort[] {
  const out: OpenPort[] = [];
  for (const p of host.ports) {
    if (p.protocol === 'tcp' && p.state.state === 'open') out.push({ proto: 'tcp', port: p.port });
    if (p.protocol === 'udp' && (p.state.state === 'open' || p.state.state === 'open|filtered')) out.push({ proto: 'udp', port: p.port });
  }
  return out;
}

const key = (p: Pick<NmapPort, 'protocol' | 'port'>) => `${p.protocol}/${p.port}`;

function mergePort(p1: NmapPort, p2: NmapPort | undefined): NmapPort {
  if (!p2) return p1;
  // Phase 1 is authoritative for state, except that a version probe answering proves a UDP port open.
  const state = p1.state.state === 'open|filtered' && p2.state.state === 'open' ? p2.state : p1.state;
  return {
    ...p1,
    state,
    ...(p2.service ? { service: p2.service } : {}),
    scripts: p2.scripts.length > 0 ? p2.scripts : p1.scripts,
    ...(p2.owner !== undefined ? { owner: p2.owner } : {}),
  };
}

/**
 * Phase 1's host with phase 2 laid over it, and the names the task carried attached as type "user"
 * (they came from the request, not from DNS). Host-level facts come from phase 2 when it has them.
 */
export function mergePhases(phase1: NmapHost, phase2: NmapHost | undefined, userHostnames: readonly string[]): NmapHost {
  const p2ports = new Map((phase2?.ports ?? []).map((p) => [key(p), p] as const));
  const names: NmapHostname[] = [];
  const seen = new Set<string>();
  for (const n of [...userHostnames.map((name) => ({ name, type: 'user' })), ...phase1.hostnames, ...(phase2?.hostnames ?? [])]) {
    const k = `${n.name.toLowerCase()}|${n.type ?? ''}`;
    if (!seen.has(k)) {
      seen.add(k);
      names.push(n);
    }
  }
  const merged: NmapHost = { ...phase1, hostnames: names, ports: phase1.ports.map((p) => mergePort(p, p2ports.get(key(p)))) };
  if (!phase2) return merged;
  const { ports: _p, extraPorts: _e, hostnames: _h, status: _s, addresses: _a, ip: _ip, startTime: _st, times: _t, ...facts } = phase2;
  const defined = Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  return { ...merged, ...defined, hostScripts: phase2.hostScripts.length > 0 ? phase2.hostScripts : phase1.hostScripts };
}

/**
 * The ports a task scanned, per protocol: its shard or the config's list when the ports are explicit,
 * 1-65535 for every port, and for top-N whatever phase 1's report says it covered (the list lives in
 * the nmap binary). A protocol it cannot tell stays absent, which closes nothing by absence.
 */
export function taskCoverage(config: ScanConfig, shard: PortShardJson, phase1?: NmapRunMeta): Coverage {
  const o = config.openPorts;
  const spec = shard.ports ?? o.ports ?? (o.allPorts ? '1-65535' : undefined);
  if (spec === undefined) {
    if (!phase1) return {};
    const inferred = inferCoverage(phase1);
    const out: Partial<Record<Protocol, readonly (readonly [number, number])[]>> = {};
    for (const p of o.protocols) if (inferred[p]) out[p] = inferred[p];
    return out;
  }
  const parsed = parsePortSpec(spec);
  if (!parsed.ok) return {};
  const out: Partial<Record<Protocol, readonly (readonly [number, number])[]>> = {};
  for (const p of o.protocols) out[p] = parsed.ranges;
  return out;
}

export type Capability = { readonly ok: true; readonly config: ScanConfig; readonly note?: string } | { readonly ok: false; readonly message: string };

/**
 * What an unprivileged worker can do with a config: SYN becomes a connect scan (same ports, noisier),
 * while UDP and OS detection need raw sockets and cannot be replaced.
 */
export function adaptToPrivileges(config: ScanConfig, privileged: boolean): Capability {
  if (privileged) return { ok: true, config };
  const needsRaw: string[] = [];
  if (config.openPorts.protocols.includes('udp')) needsRaw.push('UDP scanning');
  if (config.services && (config.services.osDetection || config.services.aggressive)) needsRaw.push('OS detection');
  if (needsRaw.length) return { ok: false, message: `${needsRaw.join(' and ')} need${needsRaw.length > 1 ? '' : 's'} root or CAP_NET_RAW on the worker` };
  if (config.openPorts.scanType === 'connect') return { ok: true, config };
  return { ok: true, config: { ...config, openPorts: { ...config.openPorts, scanType: 'connect' } }, note: 'SYN scan replaced by a connect scan: the worker has no raw-socket privileges' };
}
