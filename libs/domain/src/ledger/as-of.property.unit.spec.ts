import fc from 'fast-check';
import type { Envelope, HostDeletedV1, HostObservedV1, ImportMode, NmapPort } from '#events';
import { advanceClock, replayHost, type HostEvent } from './as-of.js';
import { canonicalJson } from './canonical-json.js';
import { foldHostDeleted, foldObservation } from './fold.js';
import type { HostState } from './host-state.js';
import { actor, observe, port } from './ledger.testkit.js';

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const minute = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();

const portArb: fc.Arbitrary<NmapPort> = fc
  .record({
    n: fc.constantFrom(22, 80, 443, 161),
    proto: fc.constantFrom('tcp' as const, 'udp' as const),
    state: fc.constantFrom('open', 'open', 'closed', 'filtered', 'open|filtered'),
    product: fc.constantFrom(undefined, '', 'nginx', 'OpenSSH'),
    version: fc.constantFrom(undefined, '1', '2'),
  })
  .map((p) => port(`${p.n}/${p.proto}`, p.state, p.product === undefined ? {} : { name: 'svc', product: p.product, ...(p.version ? { version: p.version } : {}) }));

/** A log: imports and scan results of a few hosts in every mode, deletions, and clocks that disagree a little. */
const logArb = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({
      kind: fc.constant('observe' as const),
      ip: fc.constantFrom(...IPS),
      mode: fc.constantFrom<ImportMode>('insert', 'append', 'update', 'replace'),
      source: fc.constantFrom('imp-a', 'imp-b', 'task:t1', 'task:t2'),
      ports: fc.array(portArb, { maxLength: 4 }),
      coverage: fc.constantFrom<HostObservedV1['coverage']>({}, { tcp: [[1, 1000]] }, { tcp: [[1, 100]], udp: [[1, 200]] }),
      minute: fc.integer({ min: 0, max: 30 }),
    }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), ip: fc.constantFrom(...IPS), minute: fc.integer({ min: 0, max: 30 }) }) },
  ),
  { maxLength: 12 },
);

type Entry = typeof logArb extends fc.Arbitrary<(infer T)[]> ? T : never;

function toEvents(log: readonly Entry[]): HostEvent[] {
  return log.map((l, i) => {
    const base = { eventId: `ev-${i}`, schemaVersion: 1, key: 'p1', occurredAt: minute(l.minute), correlationId: 'c1', causationId: null, actor };
    if (l.kind === 'delete') return { ...base, type: 'HostDeleted', payload: { projectId: 'p1', ip: l.ip } } as Envelope<'HostDeleted', HostDeletedV1>;
    const obs = observe({ ip: l.ip, mode: l.mode, source: l.source, ports: l.ports, coverage: l.coverage, at: minute(l.minute) });
    return { ...base, type: 'HostObserved', payload: obs } as Envelope<'HostObserved', HostObservedV1>;
  });
}

const ipOf = (e: HostEvent) => (e.type === 'HostObserved' ? e.payload.host.ip : e.payload.ip);

/** What the projector holds after each event: the live fold, event by event, one host at a time. */
function liveSnapshots(events: readonly HostEvent[]): Map<string, string | null>[] {
  const live = new Map<string, HostState>();
  const out: Map<string, string | null>[] = [];
  for (const e of events) {
    const meta = { eventId: e.eventId, occurredAt: e.occurredAt, actor: e.actor };
    const prev = live.get(ipOf(e)) ?? null;
    if (e.type === 'HostObserved') live.set(ipOf(e), foldObservation(prev, e.payload, meta).state);
    else if (prev) live.set(ipOf(e), foldHostDeleted(prev, meta).state);
    out.push(new Map(IPS.map((ip) => [ip, live.has(ip) ? canonicalJson(live.get(ip)) : null])));
  }
  return out;
}

/** The read side: pick the cut from the clocks (as the SQL does), then fold each host's trail up to it. */
function asOf(events: readonly HostEvent[], clocks: readonly string[], t: string): Map<string, string | null> {
  let cut = -1;
  clocks.forEach((c, i) => {
    if (c <= t) cut = i;
  });
  const prefix = events.slice(0, cut + 1);
  return new Map(IPS.map((ip) => {
    const s = replayHost(prefix.filter((e) => ipOf(e) === ip));
    return [ip, s ? canonicalJson(s) : null];
  }));
}

describe('as of T, derived from the events', () => {
  it('given any log, as of each moment equals the live state right after the last event at or before it', () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: -1, max: 31 }), (log, probe) => {
        const events = toEvents(log);
        const clocks: string[] = [];
        for (const e of events) clocks.push(advanceClock(clocks.at(-1) ?? null, e.occurredAt));
        const live = liveSnapshots(events);
        const empty = new Map(IPS.map((ip) => [ip, null]));
        // Every event's own clock: the state right after it (and after any later event its clock did not pass).
        clocks.forEach((c, i) => {
          let k = i;
          while (k + 1 < clocks.length && clocks[k + 1] <= c) k++;
          expect(asOf(events, clocks, c)).toEqual(live[k]);
          if (k === i) expect(asOf(events, clocks, c)).toEqual(live[i]);
        });
        // Any other moment, including before the first event and between events.
        const t = probe < 0 ? '2025-12-31T00:00:00.000Z' : minute(probe);
        const last = clocks.filter((c) => c <= t).length - 1;
        expect(asOf(events, clocks, t)).toEqual(last < 0 ? empty : live[last]);
      }),
      { numRuns: 200 },
    );
  });

  it('given a log, the clock never runs backwards and only moves on a later event time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }), (minutes) => {
        let clock: string | null = null;
        for (const m of minutes) {
          const next = advanceClock(clock, minute(m));
          if (clock !== null) expect(next >= clock).toBe(true);
          expect(next).toBe(clock !== null && clock > minute(m) ? clock : minute(m));
          clock = next;
        }
      }),
    );
  });
});
