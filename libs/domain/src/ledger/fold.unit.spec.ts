import { canonicalHash, canonicalJson } from './canonical-json.js';
import { classifyPort, explainPort, lastScannedAt } from './classify.js';
import { foldHostDeleted, foldObservation } from './fold.js';
import type { Change, HostState } from './host-state.js';
import { IP, actor, day, describeChange, foldAll, given, metaFor, observe, port, script } from './ledger.testkit.js';
import { tallyImport } from './import-counts.js';
import { normaliseRanges, subtractRanges } from './port-ranges.js';

const ssh = () => port('22/tcp', 'open', { name: 'ssh', product: 'OpenSSH', version: '8.2p1' });
const http = () => port('80/tcp', 'open', { name: 'http', product: 'nginx' });
const base = () => observe({ source: 'imp-a', at: 1, ports: [ssh(), http()], hostnames: ['a.example'] });

describe('provenance', () => {
  it('given a refresh, then each service field points at the event that set it, and that event resolves to its source and run', () => {
    given(base())
      .when(observe({ source: 'imp-b', at: 2, args: 'nmap -sV -p22', ports: [port('22/tcp', 'open', { name: 'ssh', product: 'OpenSSH', version: '9.6p1' })] }))
      .then(({ result: { state } }) => {
        const svc = state.ports['tcp/22'].service;
        expect(svc.product).toEqual({ value: 'OpenSSH', eventId: 'ev-1', observedAt: day(1) });
        expect(svc.version).toEqual({ value: '9.6p1', eventId: 'ev-when', observedAt: day(2) });
        expect(state.sources['ev-when']).toEqual({
          sourceId: 'import:imp-b',
          source: { fileSha256: 'sha-imp-b', importId: 'imp-b', kind: 'import' },
          mode: 'update',
          run: { args: 'nmap -sV -p22', scanner: 'nmap', version: '7.95' },
          actor,
          observedAt: day(2),
        });
        expect(state.sources['ev-1']?.sourceId).toBe('import:imp-a');
      });
  });

  it('given a rescan that confirms everything, then its event is not kept in the provenance registry', () => {
    given(base())
      .when(observe({ source: 'imp-b', at: 2, ports: [ssh(), http()], coverage: {} }))
      .then(({ result }) => {
        expect(result.outcome).toBe('unchanged');
        expect(Object.keys(result.state.sources)).toEqual(['ev-1']);
        expect(result.state.lastSeen).toBe(day(2));
        expect(result.state.ports['tcp/22'].stateSetBy.eventId).toBe('ev-1');
        expect(result.state.ports['tcp/22'].lastSeen).toBe(day(2));
      });
  });

  it('hostnames, state, coverage and appearance each carry their setting event', () => {
    const s = foldAll([base()])!;
    expect(s.appearedBy).toEqual({ eventId: 'ev-1', observedAt: day(1) });
    expect(s.hostnames['a.example']).toEqual({ name: 'a.example', types: ['PTR'], addedBy: { eventId: 'ev-1', observedAt: day(1) }, lastSeen: day(1) });
    expect(s.ports['tcp/80'].stateSetBy).toEqual({ eventId: 'ev-1', observedAt: day(1) });
    expect(s.coverage).toEqual([{ proto: 'tcp', ranges: [[1, 1000]], eventId: 'ev-1', sourceId: 'import:imp-a', observedAt: day(1) }]);
  });

  it('every change row carries source, actor, run args, mode and observation time', () => {
    given(base())
      .when(observe({ source: 'task:t-9', mode: 'replace', at: 3, args: 'nmap -p1-1000', ports: [http()] }))
      .then(({ result }) => {
        expect(result.changes).toEqual([
          {
            ip: IP,
            proto: 'tcp',
            port: 22,
            field: 'state',
            old: 'open',
            new: 'closed',
            rule: 'closed by replace task t-9: 22/tcp was inside the scanned range 1-1000 and absent from the report',
            eventId: 'ev-when',
            observedAt: day(3),
            source: { kind: 'task', scanId: 'scan-1', taskId: 't-9', workerId: 'w1' },
            mode: 'replace',
            actor,
            run: { args: 'nmap -p1-1000', scanner: 'nmap', version: '7.95' },
            recorded: true,
          },
        ]);
      });
  });

  it('long source ids are shortened in rules, the full id stays in source', () => {
    given(base())
      .when(observe({ source: '7f3c2a1b-9d2e-4c1a-8b7e-0a1b2c3d4e5f', mode: 'replace', at: 2, ports: [http()] }))
      .then(({ result }) => {
        expect(result.changes[0].rule).toBe(
          'closed by replace import 7f3c2a1b…: 22/tcp was inside the scanned range 1-1000 and absent from the report',
        );
        expect(result.changes[0].source).toMatchObject({ importId: '7f3c2a1b-9d2e-4c1a-8b7e-0a1b2c3d4e5f' });
      });
  });
});

describe('trackHistory off', () => {
  it('given history off, then changes are still computed and counted but flagged recorded: false, and state is as with history on', () => {
    const when = (trackHistory: boolean) =>
      given(base()).when(observe({ source: 'imp-b', mode: 'replace', at: 2, trackHistory, ports: [port('443/tcp')] })).result;
    const off = when(false);
    const on = when(true);
    expect(off.changes.map(describeChange)).toEqual(['443/tcp state: — → open', '22/tcp state: open → closed', '80/tcp state: open → closed']);
    expect(off.changes.every((c) => c.recorded === false)).toBe(true);
    expect(on.changes.every((c) => c.recorded === true)).toBe(true);
    expect([off.portsOpened, off.portsClosed, off.outcome]).toEqual([1, 2, 'updated']);
    expect(canonicalJson(off.state)).toBe(canonicalJson(on.state));
  });
});

describe('counts', () => {
  it('portsOpened counts ports that became exactly open; portsClosed ports that left open', () => {
    given(observe({ ports: [ssh(), http(), port('161/udp', 'open|filtered'), port('25/tcp', 'closed')], coverage: { tcp: [[1, 1000]], udp: [[1, 200]] } }))
      .when(
        observe({
          mode: 'replace',
          source: 'imp-b',
          at: 2,
          ports: [port('25/tcp', 'open'), port('161/udp', 'closed'), port('53/udp', 'open|filtered')],
          coverage: { tcp: [[1, 1000]], udp: [[1, 200]] },
        }),
      )
      .then({
        changes: ['25/tcp state: closed → open', '53/udp state: — → open|filtered', '161/udp state: open|filtered → closed', '22/tcp state: open → closed', '80/tcp state: open → closed'],
        opened: 1,
        closed: 2,
      });
  });
});

describe('tallyImport', () => {
  it('counts a host once under its strongest outcome and sums ports and changes', () => {
    const results: { ip: string; result: ReturnType<typeof foldObservation> }[] = [];
    const knownHost = foldAll([observe({ ip: '10.0.0.2', ports: [ssh()] })]);
    const elements = [
      observe({ source: 'imp-m', mode: 'insert', at: 2, ports: [port('80/tcp')] }),
      observe({ source: 'imp-m', mode: 'insert', at: 2, ports: [port('443/tcp')] }),
    ];
    let fresh: HostState | null = null;
    elements.forEach((o, i) => {
      const r = foldObservation(fresh, o, metaFor(`m${i}`, o));
      fresh = r.state;
      results.push({ ip: IP, result: r });
    });
    const known = observe({ ip: '10.0.0.2', source: 'imp-m', mode: 'insert', at: 2, ports: [port('80/tcp')] });
    results.push({ ip: '10.0.0.2', result: foldObservation(knownHost, known, metaFor('m9', known)) });
    expect(tallyImport(results)).toEqual({ hostsCreated: 1, hostsUpdated: 0, hostsUnchanged: 1, portsOpened: 2, portsClosed: 0, changes: 3 });
  });
});

describe('same-source merge beyond absence', () => {
  it('given an element of import M reported 80 open, when a later element of M reads it closed, then it stays open', () => {
    given(base(), observe({ source: 'imp-m', mode: 'replace', at: 2, ports: [port('80/tcp', 'open'), ssh()] }))
      .when(observe({ source: 'imp-m', mode: 'replace', at: 3, ports: [port('80/tcp', 'closed'), ssh()] }))
      .then({ outcome: 'unchanged', changes: [], ports: { '80/tcp': { state: 'open' } } });
  });

  it('given an element of run M reported 80 closed, when an earlier-stamped element of M reads it open, then open wins', () => {
    given(observe({ source: 'task:m', mode: 'replace', at: 5, ports: [port('80/tcp', 'closed')] }))
      .when(observe({ source: 'task:m', mode: 'replace', at: 4, ports: [port('80/tcp', 'open')] }))
      .then({ changes: ['80/tcp state: closed → open'], ports: { '80/tcp': { state: 'open' } } });
  });

  it('given another import closed 80 between two elements of M, when M reports 443, then 80 is not closed again but stays as the other import left it', () => {
    given(
      observe({ source: 'imp-m', mode: 'replace', at: 2, ports: [port('80/tcp')] }),
      observe({ source: 'imp-x', mode: 'replace', at: 3, ports: [port('80/tcp', 'filtered')] }),
    )
      .when(observe({ source: 'imp-m', mode: 'replace', at: 4, ports: [port('443/tcp')] }))
      .then({ changes: ['443/tcp state: — → open'], ports: { '80/tcp': { state: 'filtered' } } });
  });

  it('within one run, a reading no more open than the first does not flip it (closed then filtered stays closed)', () => {
    given(observe({ source: 'imp-m', mode: 'replace', ports: [port('25/tcp', 'closed')] }))
      .when(observe({ source: 'imp-m', mode: 'replace', at: 2, ports: [port('25/tcp', 'filtered')] }))
      .then({ changes: [], ports: { '25/tcp': { state: 'closed' } } });
  });

  it('a replace PTR answer does not remove a name the same run added', () => {
    given(observe({ source: 'imp-m', mode: 'replace', hostnames: ['one.example'] }))
      .when(observe({ source: 'imp-m', mode: 'replace', hostnames: ['two.example'] }))
      .then({ changes: ['hostname: — → two.example'], hostnames: ['one.example', 'two.example'] });
  });
});

describe('hostnames and addresses', () => {
  it('normalises case and the trailing dot, keeps every type a name was seen with', () => {
    given(observe({ hostnames: [{ name: 'WWW.Example.com.', type: 'user' }] }))
      .when(observe({ source: 'imp-b', at: 2, hostnames: [{ name: 'www.example.com', type: 'PTR' }, { name: ' ', type: 'PTR' }] }))
      .then(({ result }) => {
        expect(result.changes).toEqual([]);
        expect(result.state.hostnames['www.example.com'].types).toEqual(['PTR', 'user']);
      });
  });

  it('a different MAC replaces the old one in update; a report without a MAC keeps it', () => {
    const withMac = (mac: string, at: number) =>
      observe({ at, source: `imp-${at}`, host: { addresses: [{ addr: IP, addrtype: 'ipv4' }, { addr: mac, addrtype: 'mac', vendor: 'V' }] } });
    const s = foldAll([withMac('00:00:00:00:00:01', 1), withMac('00:00:00:00:00:02', 2), observe({ at: 3, source: 'imp-3' })])!;
    expect(s.addresses.map((a) => `${a.addrtype} ${a.addr}`)).toEqual(['ipv4 10.0.0.1', 'mac 00:00:00:00:00:02']);
  });
});

describe('time', () => {
  it('compares observation times as instants, not text', () => {
    given(observe({ at: '2024-01-02T10:00:00.000Z', ports: [ssh()] }))
      .when(observe({ source: 'imp-b', mode: 'replace', at: '2024-01-02T11:00:00+01:00', ports: [port('22/tcp', 'closed')] }))
      // Same instant: not older, so replace applies.
      .then({ changes: ['22/tcp state: open → closed'] });
  });

  it('an older report in replace does not close a port seen open later, but the older report pushes firstSeen back', () => {
    given(observe({ at: 5, ports: [ssh()] }))
      .when(observe({ source: 'imp-b', mode: 'replace', at: 3, ports: [] }))
      .then(({ result }) => {
        expect(result.changes).toEqual([]);
        expect(result.state.firstSeen).toBe(day(3));
        expect(result.state.lastSeen).toBe(day(5));
      });
  });
});

describe('coverage records', () => {
  it('keep, per port, only the latest scan that covered it', () => {
    const s = foldAll([
      observe({ at: 2, coverage: { tcp: [[1, 1000]] } }),
      observe({ at: 3, source: 'imp-b', coverage: { tcp: [[1, 100]], udp: [[53, 53]] } }),
      // Older than both: only the part nobody scanned later survives.
      observe({ at: 1, source: 'imp-c', coverage: { tcp: [[1, 2000]] } }),
      // Same scan again: the first record of it wins the tie.
      observe({ at: 3, source: 'imp-d', coverage: { udp: [[53, 53]] } }),
    ])!;
    expect(s.coverage.map((c) => [c.proto, c.ranges, c.eventId])).toEqual([
      ['tcp', [[1001, 2000]], 'ev-3'],
      ['tcp', [[101, 1000]], 'ev-1'],
      ['tcp', [[1, 100]], 'ev-2'],
      ['udp', [[53, 53]], 'ev-2'],
    ]);
  });

  it('normalises and subtracts ranges', () => {
    expect(normaliseRanges([[5, 9], [1, 3], [4, 4], [20, 10], [8, 12]])).toEqual([[1, 12]]);
    expect(subtractRanges([[1, 100]], [[1, 1], [50, 60], [100, 200]])).toEqual([[2, 49], [61, 99]]);
    expect(subtractRanges([[1, 10]], [[0, 20]])).toEqual([]);
  });
});

describe('classifyPort', () => {
  const s = foldAll([
    observe({ at: 1, ports: [ssh(), http(), port('25/tcp', 'closed'), port('23/tcp', 'filtered'), port('161/udp', 'open|filtered')], coverage: { tcp: [[1, 1000]] } }),
    // closes 80 by absence; covers 1-100 again on day 5
    observe({ at: 5, mode: 'replace', source: 'imp-b', ports: [ssh(), port('25/tcp', 'closed'), port('23/tcp', 'filtered')], coverage: { tcp: [[1, 100]] } }),
  ]);

  it.each([
    ['tcp', 22, undefined, 'open'],
    ['tcp', 25, undefined, 'closed'],
    ['tcp', 23, undefined, 'filtered'],
    ['udp', 161, undefined, 'open|filtered'],
    ['tcp', 80, undefined, 'closed-by-absence'],
    ['tcp', 21, undefined, 'closed-by-absence'],
    ['tcp', 8080, undefined, 'never-scanned'],
    ['udp', 53, undefined, 'never-scanned'],
    ['tcp', 22, day(3), 'open'],
    ['tcp', 500, day(3), 'stale'],
    ['udp', 161, day(3), 'stale'],
    ['tcp', 8080, day(3), 'never-scanned'],
  ] as const)('%s/%s (stale before %s) is %s', (proto, n, staleBefore, expected) => {
    expect(classifyPort(s, proto, n, staleBefore)).toBe(expected);
  });

  it('knows when a port was last scanned', () => {
    expect(lastScannedAt(s, 'tcp', 80)).toBe(day(5));
    expect(lastScannedAt(s, 'tcp', 500)).toBe(day(1));
    expect(lastScannedAt(s, 'tcp', 5000)).toBeNull();
  });

  it('a missing or deleted host has never been scanned', () => {
    expect(classifyPort(null, 'tcp', 22)).toBe('never-scanned');
    const deleted = foldHostDeleted(s!, { eventId: 'd1', occurredAt: day(6), actor }).state;
    expect(classifyPort(deleted, 'tcp', 22)).toBe('never-scanned');
  });
});

describe('explainPort', () => {
  it('turns the chain of a port into sentences, the last one explaining the current state', () => {
    const history: Change[] = [];
    let s: HostState | null = null;
    const steps = [
      observe({ source: 'imp-a', at: 1, ports: [port('443/tcp', 'open', { name: 'https', product: 'nginx' })] }),
      observe({ source: '7f3c2a1b-0000', mode: 'replace', at: 2, args: 'nmap -p1-1000', ports: [ssh()] }),
      observe({ source: 'imp-c', mode: 'append', at: 3, ports: [port('443/tcp', 'open', { product: 'Caddy' })] }),
      observe({ source: 'imp-d', mode: 'update', at: 4, ports: [port('443/tcp', 'open', { product: 'Caddy' })] }),
    ];
    steps.forEach((o, i) => {
      const r = foldObservation(s, o, metaFor(`ev-${i + 1}`, o));
      history.push(...r.changes.filter((c) => c.port === 443));
      s = r.state;
    });
    expect(explainPort(history)).toEqual([
      `${day(1)} state: — → open — recorded with the new host by update import imp-a: the report names 443/tcp open [nmap nmap -sV -p1-1000]; event ev-1`,
      `${day(2)} state: open → closed — closed by replace import 7f3c2a1b…: 443/tcp was inside the scanned range 1-1000 and absent from the report [nmap nmap -p1-1000]; event ev-2`,
      `${day(3)} state: closed → open — opened by append import imp-c: the report names 443/tcp open [nmap nmap -sV -p1-1000]; event ev-3`,
      `${day(4)} service.product: nginx → Caddy — product refreshed by update import imp-d: the report gives a non-empty value that differs from the stored one [nmap nmap -sV -p1-1000]; event ev-4`,
    ]);
  });

  it('says when a row was not recorded and names scripts', () => {
    const r = given(observe({ ports: [http()] })).when(
      observe({ source: 'imp-b', at: 2, trackHistory: false, ports: [port('80/tcp', 'open', { scripts: [script('http-title', 'Hi')] })] }),
    ).result;
    expect(explainPort(r.changes)).toEqual([
      `${day(2)} script http-title: — → Hi — script http-title added by update import imp-b [nmap nmap -sV -p1-1000]; event ev-when (history off for this import)`,
    ]);
  });
});

describe('foldHostDeleted', () => {
  it('marks the host deleted with a "disappeared" row and is a no-op the second time', () => {
    const s = foldAll([base()])!;
    const meta = { eventId: 'ev-del', occurredAt: day(3), actor };
    const first = foldHostDeleted(s, meta);
    expect(first.outcome).toBe('updated');
    expect(first.changes.map(describeChange)).toEqual(['host: present → —']);
    expect(first.changes[0]).toMatchObject({ rule: 'disappeared: host deleted by user u1', recorded: true, source: null, observedAt: day(3) });
    expect(first.state).toMatchObject({ deleted: true, deletedBy: { eventId: 'ev-del', observedAt: day(3) } });
    expect(first.state.sources['ev-del']).toEqual({ sourceId: null, source: null, mode: null, run: null, actor, observedAt: day(3) });
    expect(first.state.ports['tcp/22'].state).toBe('open');
    const second = foldHostDeleted(first.state, meta);
    expect(second).toEqual({ state: first.state, changes: [], outcome: 'unchanged' });
  });
});

describe('guards and shape', () => {
  it('refuses to fold an observation of another IP', () => {
    const s = foldAll([base()]);
    const other = observe({ ip: '10.0.0.2' });
    expect(() => foldObservation(s, other, metaFor('x', other))).toThrow(/10\.0\.0\.2.*10\.0\.0\.1/);
  });

  it('serialises in the same key order whatever the key order of the event', () => {
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]))
          : v;
    const o = observe({ ports: [port('80/tcp', 'open', { name: 'http', scripts: [script('a', 'b')] }), ssh()], hostnames: ['b.example', 'a.example'] });
    const a = foldObservation(null, o, metaFor('e', o)).state;
    const b = foldObservation(null, reverseKeys(o) as typeof o, metaFor('e', o)).state;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(Object.keys(a.ports)).toEqual(['tcp/22', 'tcp/80']);
  });

  it('a state survives a JSON round trip unchanged (it is what JSONB stores)', () => {
    const s = foldAll([base(), observe({ source: 'imp-b', mode: 'replace', at: 2, ports: [http()] })]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps array order, drops undefined like JSON', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: undefined, w: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"w":2,"y":1}]},"b":1}');
    expect(canonicalJson([undefined, Number.NaN])).toBe('[null,null]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('hashes equal structures equally and different ones differently', () => {
    expect(canonicalHash({ a: 1, b: [1, 2] })).toBe(canonicalHash({ b: [1, 2], a: 1 }));
    expect(canonicalHash({ a: 1, b: [1, 2] })).not.toBe(canonicalHash({ a: 1, b: [2, 1] }));
    expect(canonicalHash({})).toMatch(/^[0-9a-f]{64}$/);
  });
});
