import fc from 'fast-check';
import type { HostObservedV1, ImportMode, NmapPort, Protocol } from '#events';
import { canonicalJson } from './canonical-json.js';
import { foldObservation } from './fold.js';
import { SERVICE_FIELDS, portKey, type HostState } from './host-state.js';
import { foldAll, metaFor, observe } from './ledger.testkit.js';

// Small value pools on purpose: collisions (same port twice, same source again, equal timestamps,
// blank vs set values) are where the fold's rules interact, and random wide values rarely collide.
const blankish = fc.constantFrom(undefined, '', '  ');
const text = (...values: string[]) => fc.oneof(blankish, fc.constantFrom(...values));

const portArb: fc.Arbitrary<NmapPort> = fc
  .record({
    port: fc.constantFrom(22, 53, 80, 161, 443, 5000),
    protocol: fc.constantFrom<Protocol>('tcp', 'udp'),
    state: fc.constantFrom('open', 'open', 'closed', 'filtered', 'open|filtered', 'unfiltered'),
    reason: text('syn-ack', 'reset'),
    service: fc.option(
      fc.record({
        name: text('ssh', 'http'),
        product: text('OpenSSH', 'nginx'),
        version: text('8.2', '9.6'),
        extrainfo: text('Ubuntu'),
        conf: fc.constantFrom(undefined, 3, 10),
        cpes: fc.array(fc.constantFrom('', 'cpe:/a:x', 'cpe:/a:y'), { maxLength: 2 }),
      }),
      { nil: undefined },
    ),
    scripts: fc.array(
      fc.record({ id: fc.constantFrom('http-title', 'ssl-cert'), output: fc.constantFrom('', 'A', 'B') }).map((s) => ({
        ...s,
        nodes: s.output === '' ? [] : [{ kind: 'elem' as const, value: s.output }],
      })),
      { maxLength: 2 },
    ),
  })
  .map(({ port, protocol, state, reason, service, scripts }) => ({
    port,
    protocol,
    state: { state, ...(reason === undefined ? {} : { reason }) },
    ...(service === undefined ? {} : { service }),
    scripts,
  }));

const obsArb = (opts: { source?: fc.Arbitrary<string>; mode?: fc.Arbitrary<ImportMode>; coverage?: fc.Arbitrary<HostObservedV1['coverage']> } = {}) =>
  fc
    .record({
      mode: opts.mode ?? fc.constantFrom<ImportMode>('insert', 'append', 'update', 'replace'),
      source: opts.source ?? fc.constantFrom('imp-a', 'imp-b', 'task:t1'),
      at: fc.integer({ min: 1, max: 4 }),
      ports: fc.array(portArb, { maxLength: 5 }),
      coverage:
        opts.coverage ?? fc.constantFrom<HostObservedV1['coverage']>({}, { tcp: [[1, 100]] }, { tcp: [[1, 1000]], udp: [[1, 200]] }, { udp: [[161, 161]] }),
      hostnames: fc.subarray([
        { name: 'a.example', type: 'PTR' },
        { name: 'b.example', type: 'PTR' },
        { name: 'c.example', type: 'user' },
        { name: ' ', type: 'PTR' },
      ]),
      trackHistory: fc.boolean(),
      status: fc.constantFrom('up', 'up', 'up', 'down'),
      os: fc.constantFrom(undefined, 'Linux', ''),
      macs: fc.subarray([
        { addr: '00:00:00:00:00:01', addrtype: 'mac' as const, vendor: 'V1' },
        { addr: '00:00:00:00:00:02', addrtype: 'mac' as const },
        { addr: '00:00:00:00:00:01', addrtype: 'mac' as const, vendor: 'V3' },
        { addr: 'fe80::1', addrtype: 'ipv6' as const },
      ]),
    })
    .map(({ os, status, macs, ...o }) =>
      observe({
        ...o,
        host: {
          status: { state: status },
          addresses: [{ addr: '10.0.0.1', addrtype: 'ipv4' }, ...macs],
          ...(os === undefined ? {} : { os: { matches: os === '' ? [] : [{ name: os, classes: [] }], portsUsed: [] } }),
        },
      }),
    );

const historyArb = fc.array(obsArb(), { maxLength: 6 });

function foldFrom(state: HostState | null, obs: HostObservedV1, eventId = 'ev-x') {
  return foldObservation(state, obs, metaFor(eventId, obs));
}

const isBlank = (v: unknown) => v === undefined || (typeof v === 'string' && v.trim() === '');

describe('fold properties', () => {
  it('(a) folding the same observation again changes nothing, whatever its event id', () => {
    fc.assert(
      fc.property(historyArb, obsArb(), fc.boolean(), (history, obs, sameEventId) => {
        const first = foldFrom(foldAll(history), obs, 'ev-once');
        const again = foldFrom(first.state, obs, sameEventId ? 'ev-once' : 'ev-twice');
        expect(canonicalJson(again.state)).toBe(canonicalJson(first.state));
        expect(again.changes).toEqual([]);
        expect(['unchanged', 'skipped']).toContain(again.outcome);
        expect([again.portsOpened, again.portsClosed]).toEqual([0, 0]);
      }),
      { numRuns: 400 },
    );
  });

  it('(b) the fold is deterministic, key order included, and does not mutate its inputs', () => {
    fc.assert(
      fc.property(historyArb, obsArb(), (history, obs) => {
        const state = foldAll(history);
        const before = JSON.stringify([state, obs]);
        const a = foldFrom(state, obs);
        const b = foldFrom(state, obs);
        expect(JSON.stringify(a)).toBe(JSON.stringify(b));
        expect(JSON.stringify([state, obs])).toBe(before);
      }),
      { numRuns: 300 },
    );
  });

  it('(c) blank values never clear a stored value and never write history', () => {
    fc.assert(
      fc.property(historyArb, obsArb(), (history, obs) => {
        const prev = foldAll(history);
        const { state, changes } = foldFrom(prev, obs);
        for (const c of changes) {
          if (c.field.startsWith('service.') || c.field === 'cpes' || c.field === 'script') {
            expect(c.new === null || c.new === '' || (Array.isArray(c.new) && c.new.length === 0)).toBe(false);
          }
        }
        if (prev === null || prev.deleted) return;
        for (const [key, was] of Object.entries(prev.ports)) {
          const now = state.ports[key as keyof typeof state.ports];
          const entries = obs.host.ports.filter((p) => portKey(p.protocol, p.port) === key);
          for (const f of SERVICE_FIELDS) {
            if (was.service[f] === undefined) continue;
            expect(now.service[f]).toBeDefined();
            if (entries.every((p) => isBlank(p.service?.[f]))) expect(now.service[f]).toEqual(was.service[f]);
          }
          if (was.cpes !== null) {
            expect(now.cpes?.value.length).toBeGreaterThan(0);
            if (entries.every((p) => (p.service?.cpes ?? []).every((c) => c.trim() === ''))) expect(now.cpes).toEqual(was.cpes);
          }
          expect(Object.keys(now.scripts)).toEqual(expect.arrayContaining(Object.keys(was.scripts)));
        }
        if (obs.host.hostnames.every((h) => h.name.trim() === '')) expect(Object.keys(state.hostnames)).toEqual(Object.keys(prev.hostnames));
      }),
      { numRuns: 400 },
    );
  });

  it('unknown coverage never closes a port by absence', () => {
    fc.assert(
      fc.property(historyArb, obsArb({ coverage: fc.constant({}) }), (history, obs) => {
        const prev = foldAll(history);
        if (prev === null) return;
        const { state } = foldFrom(prev, obs);
        const listed = new Set(obs.host.ports.map((p) => portKey(p.protocol, p.port)));
        for (const [key, was] of Object.entries(prev.ports)) {
          if (!listed.has(key as keyof typeof prev.ports)) expect(state.ports[key as keyof typeof state.ports].state).toBe(was.state);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('within one run (one import or task), a port any element reported open ends open', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ImportMode>('insert', 'append', 'update', 'replace'),
        fc.array(obsArb({ source: fc.constant('imp-m') }), { minLength: 1, maxLength: 6 }),
        (mode, elements) => {
          const run = elements.map((e) => ({ ...e, mode }));
          const state = foldAll(run)!;
          for (const e of run) {
            for (const p of e.host.ports) {
              if (p.state.state === 'open') expect(state.ports[portKey(p.protocol, p.port)].state).toBe('open');
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never writes a history row whose old and new are equal', () => {
    fc.assert(
      fc.property(historyArb, obsArb(), (history, obs) => {
        for (const c of foldFrom(foldAll(history), obs).changes) expect(canonicalJson(c.old)).not.toBe(canonicalJson(c.new));
      }),
      { numRuns: 200 },
    );
  });
});

describe('explain chains and coverage, over random histories', () => {
  const tracked = fc.array(obsArb().map((o) => ({ ...o, trackHistory: true })), { minLength: 1, maxLength: 7 });

  it('given any history, each port field’s chain of changes is continuous and ends in today’s value', () => {
    fc.assert(
      fc.property(tracked, (history) => {
        let state: HostState | null = null;
        const changes: { key: string; old: unknown; new: unknown }[] = [];
        history.forEach((o, i) => {
          const r = foldObservation(state, o, metaFor(`ev-${i}`, o));
          state = r.state;
          for (const c of r.changes) if (c.port !== undefined && c.field !== 'script') changes.push({ key: `${c.proto}/${c.port}|${c.field}`, old: c.old, new: c.new });
        });
        const s = state as HostState | null;
        if (!s) return;
        const last = new Map<string, unknown>();
        for (const c of changes) {
          // Continuity: every change starts where the previous one of the same fact ended.
          if (last.has(c.key)) expect(canonicalJson(c.old)).toBe(canonicalJson(last.get(c.key)));
          last.set(c.key, c.new);
        }
        for (const p of Object.values(s.ports)) {
          const k = `${p.proto}/${p.port}`;
          expect(last.get(`${k}|state`)).toBe(p.state);
          for (const f of SERVICE_FIELDS) {
            if (!['name', 'product', 'version', 'extrainfo', 'tunnel'].includes(f)) continue;
            const v = (p.service as Record<string, { value: unknown } | undefined>)[f]?.value;
            // A port's first values arrive with its appearance (the state row); later edits each have a row.
            if (last.has(`${k}|service.${f}`)) expect(last.get(`${k}|service.${f}`) ?? undefined).toBe(v);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('given overlapping scans of different ranges and protocols, coverage is their union, each port credited to its latest scan', () => {
    const covArb = fc.record({
      tcp: fc.option(fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 30 })).map(([a, n]) => [a, a + n] as [number, number]), { minLength: 1, maxLength: 3 }), { nil: undefined }),
      udp: fc.option(fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 30 })).map(([a, n]) => [a, a + n] as [number, number]), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    });
    const scans = fc.array(
      fc.tuple(obsArb({ mode: fc.constantFrom<ImportMode>('append', 'update', 'replace') }), covArb).map(([o, cov]) => ({
        ...o,
        coverage: Object.fromEntries(Object.entries(cov).filter(([, v]) => v !== undefined)) as HostObservedV1['coverage'],
        host: { ...o.host, status: { state: 'up', reason: 'syn-ack' } },
      })),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(scans, (history) => {
        const s = foldAll(history)!;
        for (const proto of ['tcp', 'udp'] as Protocol[]) {
          const owner = new Map<number, string>();
          for (const o of history)
            for (const [a, b] of o.coverage[proto] ?? [])
              for (let port = a; port <= b; port++) if (!owner.has(port) || owner.get(port)! < o.observedAt) owner.set(port, o.observedAt);
          const credited = new Map<number, string>();
          for (const c of s.coverage.filter((x) => x.proto === proto))
            for (const [a, b] of c.ranges)
              for (let port = a; port <= b; port++) {
                expect(credited.has(port)).toBe(false); // records never overlap
                credited.set(port, c.observedAt);
              }
          expect(new Map([...credited].sort((x, y) => x[0] - y[0]))).toEqual(new Map([...owner].sort((x, y) => x[0] - y[0])));
        }
      }),
      { numRuns: 300 },
    );
  });
});
