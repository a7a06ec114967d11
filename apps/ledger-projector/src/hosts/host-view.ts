import { createHash } from 'node:crypto';
import { canonicalJson, portMatches, type HostState, type PortClause } from '#domain';

/** The API's shape of a host: current values, with where each came from kept in `provenance`. */
export function hostDetail(s: HostState) {
  const ports = Object.values(s.ports)
    .sort((a, b) => a.proto.localeCompare(b.proto) || a.port - b.port)
    .map((p) => ({
      proto: p.proto,
      port: p.port,
      state: p.state,
      reason: p.reason,
      ttl: p.ttl,
      cause: p.cause,
      service: Object.fromEntries(Object.entries(p.service).map(([k, f]) => [k, f?.value])),
      cpes: p.cpes?.value ?? [],
      scripts: Object.values(p.scripts).map((f) => f.value),
      firstSeen: p.firstSeen,
      lastSeen: p.lastSeen,
      setBy: s.sources[p.stateSetBy.eventId] ? { eventId: p.stateSetBy.eventId, ...s.sources[p.stateSetBy.eventId] } : p.stateSetBy,
    }));
  return {
    ip: s.ip,
    status: s.status?.value ?? null,
    addresses: s.addresses.map((a) => ({ addr: a.addr, type: a.addrtype, vendor: a.vendor })),
    hostnames: Object.values(s.hostnames).map((h) => ({ name: h.name, types: h.types })),
    os: s.os?.value ?? null,
    uptime: s.uptime?.value ?? null,
    distance: s.distance?.value ?? null,
    trace: s.trace?.value ?? null,
    times: s.times?.value ?? null,
    hostScripts: Object.values(s.hostScripts).map((f) => f.value),
    ports,
    coverage: s.coverage.map((c) => ({ proto: c.proto, ranges: c.ranges, observedAt: c.observedAt, source: c.sourceId })),
    firstSeen: s.firstSeen,
    lastSeen: s.lastSeen,
  };
}

/** A host as the hosts list and search show it (the live view builds the same from its tables). */
export function hostItem(s: HostState, matchedOnly = false, clauses: readonly PortClause[] = []) {
  const ports = Object.values(s.ports)
    .filter((p) => (matchedOnly ? clauses.length === 0 || clauses.some((c) => portMatches(c, p)) : p.state === 'open'))
    .sort((a, b) => (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : a.port - b.port))
    .map((p) => ({ proto: p.proto, port: p.port, state: p.state, service: p.service.name?.value ?? null, product: p.service.product?.value ?? null, version: p.service.version?.value ?? null }));
  return {
    ip: s.ip,
    hostnames: Object.keys(s.hostnames),
    os: s.os?.value.matches[0]?.name ?? null,
    openPortCount: Object.values(s.ports).filter((p) => p.state === 'open').length,
    ports,
    firstSeen: s.firstSeen,
    lastSeen: s.lastSeen,
  };
}

/** The facets of a set of hosts: distinct hosts per open port, service, product, version and OS (top 50 each). */
export async function facetsOf(hosts: AsyncIterable<HostState>) {
  const tallies = { port: new Map<string, number>(), service: new Map<string, number>(), product: new Map<string, number>(), version: new Map<string, number>(), os: new Map<string, number>() };
  const bump = (m: Map<string, number>, values: Iterable<string>) => {
    for (const v of new Set(values)) m.set(v, (m.get(v) ?? 0) + 1);
  };
  for await (const s of hosts) {
    const open = Object.values(s.ports).filter((p) => p.state === 'open');
    const field = (f: (p: (typeof open)[number]) => string | null | undefined) => open.map(f).filter((v): v is string => v !== null && v !== undefined);
    bump(tallies.port, open.map((p) => `${p.port}/${p.proto}`));
    bump(tallies.service, field((p) => p.service.name?.value));
    bump(tallies.product, field((p) => p.service.product?.value));
    bump(tallies.version, field((p) => (p.service.product && p.service.version ? `${p.service.product.value} ${p.service.version.value}` : null)));
    const os = s.os?.value.matches[0]?.name;
    if (os) bump(tallies.os, [os]);
  }
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, 50).map(([value, count]) => ({ value, count }));
  return { port: top(tallies.port), service: top(tallies.service), product: top(tallies.product), version: top(tallies.version), os: top(tallies.os) };
}

/** A digest of what a project's hosts say (their API detail, in address order): equal views, equal digests. */
export async function viewDigest(hosts: AsyncIterable<HostState>): Promise<{ checksum: string; hosts: number }> {
  const h = createHash('sha256');
  let n = 0;
  for await (const s of hosts) {
    h.update(canonicalJson(hostDetail(s)));
    h.update('\n');
    n++;
  }
  return { checksum: h.digest('hex'), hosts: n };
}
