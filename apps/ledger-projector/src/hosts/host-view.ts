import type { HostState } from '#domain';

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
