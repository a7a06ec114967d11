// The import-mode matrix as data: each row is a situation, each cell both the words printed in
// docs/import-modes.md and the facts fold.matrix.unit.spec.ts asserts. Keeping both in one place is
// what makes "the doc matches the tests cell by cell" checkable. Test-only (not exported).
import type { HostObservedV1, ImportMode } from '#events';
import { foldHostDeleted } from './fold.js';
import type { HostState } from './host-state.js';
import { IP, actor, describeChange, foldAll, observe, port, script, type Expect, type ObsInit, type When } from './ledger.testkit.js';

export const MODES: readonly ImportMode[] = ['insert', 'append', 'update', 'replace'];

export interface MatrixRow {
  readonly situation: string;
  readonly given: (mode: ImportMode) => HostState | null;
  readonly when: (mode: ImportMode) => HostObservedV1;
  readonly then: Record<ImportMode, Expect | ((w: When) => void)>;
  readonly doc: Record<ImportMode, string>;
}

// The stored host most rows start from: imported by imp-a on day 1.
const ssh = () => port('22/tcp', 'open', { name: 'ssh', product: 'OpenSSH', version: '8.2p1' });
const http = () => port('80/tcp', 'open', { name: 'http', product: 'nginx' });
const stored = () => [ssh(), http()];
const base = (extra: ObsInit = {}): HostObservedV1 =>
  observe({ source: 'imp-a', at: 1, mode: 'update', ports: stored(), hostnames: [{ name: 'a.example', type: 'user' }], ...extra });
/** The observation under test: a different import (imp-b), one day later. */
const later = (mode: ImportMode, init: ObsInit = {}): HostObservedV1 => observe({ source: 'imp-b', at: 2, mode, ports: stored(), ...init });
const state = (...obs: HostObservedV1[]) => (): HostState | null => foldAll(obs);

const all = <T>(v: T): Record<ImportMode, T> => ({ insert: v, append: v, update: v, replace: v });
const insertSkips = <T>(others: T, skipped: T): Record<ImportMode, T> => ({ insert: skipped, append: others, update: others, replace: others });
const SKIPPED: Expect = { outcome: 'skipped', changes: [] };
const SKIP_DOC = 'skipped: known host untouched · no history';

export const MATRIX: readonly MatrixRow[] = [
  {
    situation: 'New host',
    given: () => null,
    when: (mode) =>
      later(mode, {
        ports: [ssh(), port('23/tcp', 'closed'), port('161/udp', 'open|filtered')],
        coverage: { tcp: [[1, 1000]], udp: [[161, 161]] },
        hostnames: ['a.example'],
      }),
    then: all<Expect>({
      outcome: 'created',
      changes: ['host: — → present', '22/tcp state: — → open', '23/tcp state: — → closed', '161/udp state: — → open|filtered', 'hostname: — → a.example'],
      ports: { '22/tcp': { state: 'open', product: 'OpenSSH' }, '23/tcp': { state: 'closed' }, '161/udp': { state: 'open|filtered' } },
      opened: 1,
    }),
    doc: all(
      'created with every reported port in its reported state (closed and open\\|filtered too) and its service fields · history `host — → present`, one `state — → <state>` per port, `hostname — → <name>`',
    ),
  },
  {
    situation: 'Port new in the report (open)',
    given: state(base()),
    when: (mode) => later(mode, { ports: [...stored(), port('443/tcp', 'open', { name: 'https' })] }),
    then: insertSkips<Expect>(
      { outcome: 'updated', changes: ['443/tcp state: — → open'], ports: { '443/tcp': { state: 'open', name: 'https' } }, opened: 1 },
      { ...SKIPPED, ports: { '443/tcp': 'absent' } },
    ),
    doc: insertSkips('added `open` with its service fields · history `state — → open`', SKIP_DOC),
  },
  {
    situation: 'Same port, unchanged',
    given: state(base()),
    when: (mode) => later(mode),
    then: insertSkips<Expect>({ outcome: 'unchanged', changes: [], ports: { '22/tcp': { state: 'open', product: 'OpenSSH' } } }, SKIPPED),
    doc: insertSkips('unchanged (lastSeen advances) · no history', SKIP_DOC),
  },
  {
    situation: 'Service fields refreshed with non-empty values',
    given: state(base()),
    when: (mode) =>
      later(mode, {
        ports: [
          port('22/tcp', 'open', { name: 'ssh', product: 'OpenSSH', version: '9.6p1', extrainfo: 'Ubuntu', cpes: ['cpe:/a:openbsd:openssh:9.6'] }),
          http(),
        ],
      }),
    then: {
      ...all<Expect>({
        outcome: 'updated',
        changes: ['22/tcp service.version: 8.2p1 → 9.6p1', '22/tcp service.extrainfo: — → Ubuntu', '22/tcp cpes: — → [cpe:/a:openbsd:openssh:9.6]'],
        ports: { '22/tcp': { product: 'OpenSSH', version: '9.6p1', extrainfo: 'Ubuntu', cpes: ['cpe:/a:openbsd:openssh:9.6'] } },
      }),
      insert: { ...SKIPPED, ports: { '22/tcp': { version: '8.2p1' } } },
      append: { outcome: 'unchanged', changes: [], ports: { '22/tcp': { version: '8.2p1', extrainfo: null, cpes: null } } },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'kept as stored (append never overwrites, nor fills blanks) · no history',
      update: 'refreshed with the non-empty values · one history row per changed field (name, product, version, extrainfo, tunnel, cpes)',
      replace: 'refreshed with the non-empty values · one history row per changed field (name, product, version, extrainfo, tunnel, cpes)',
    },
  },
  {
    situation: 'Blank service value / no scripts in the report',
    given: state(base({ ports: [ssh(), port('80/tcp', 'open', { name: 'http', product: 'nginx', scripts: [script('http-title', 'Welcome')] })] })),
    when: (mode) => later(mode, { ports: [port('22/tcp', 'open', { name: 'ssh', product: '', version: '  ' }), port('80/tcp', 'open')] }),
    then: insertSkips<Expect>(
      {
        outcome: 'unchanged',
        changes: [],
        ports: { '22/tcp': { product: 'OpenSSH', version: '8.2p1' }, '80/tcp': { name: 'http', product: 'nginx', scripts: { 'http-title': 'Welcome' } } },
      },
      SKIPPED,
    ),
    doc: insertSkips('stored values and scripts kept; blanks ("", spaces, missing, [] cpes, no scripts) never clear · no history', SKIP_DOC),
  },
  {
    situation: 'Port scripts with new output',
    given: state(base({ ports: [ssh(), port('80/tcp', 'open', { name: 'http', product: 'nginx', scripts: [script('http-title', 'Welcome')] })] })),
    when: (mode) =>
      later(mode, {
        ports: [ssh(), port('80/tcp', 'open', { name: 'http', product: 'nginx', scripts: [script('http-title', 'Dashboard'), script('ssl-cert', 'CN=x')] })],
      }),
    then: {
      ...all<Expect>({
        outcome: 'updated',
        changes: ['80/tcp script http-title: Welcome → Dashboard', '80/tcp script ssl-cert: — → CN=x'],
        ports: { '80/tcp': { scripts: { 'http-title': 'Dashboard', 'ssl-cert': 'CN=x' } } },
      }),
      insert: SKIPPED,
      append: { outcome: 'unchanged', changes: [], ports: { '80/tcp': { scripts: { 'http-title': 'Welcome' } } } },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'kept as stored · no history',
      update: 'merged by script id (full structured output); scripts the report lacks are kept · history `script <id>` per added/changed script',
      replace: 'merged by script id (full structured output); scripts the report lacks are kept · history `script <id>` per added/changed script',
    },
  },
  {
    situation: 'Port reported closed / filtered',
    given: state(base()),
    when: (mode) => later(mode, { ports: [port('22/tcp', 'closed', { reason: 'reset' }), port('80/tcp', 'filtered', { reason: 'no-response' })] }),
    then: {
      ...all<Expect>({ outcome: 'unchanged', changes: [], ports: { '22/tcp': { state: 'open' }, '80/tcp': { state: 'open' } } }),
      insert: SKIPPED,
      replace: {
        outcome: 'updated',
        changes: ['22/tcp state: open → closed', '80/tcp state: open → filtered'],
        ports: { '22/tcp': { state: 'closed', cause: 'reported', product: 'OpenSSH' }, '80/tcp': { state: 'filtered', cause: 'reported' } },
        closed: 2,
      },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'kept open (the report\'s negatives are not trusted) · no history',
      update: 'kept open (update never closes) · no history',
      replace: 'set to the raw reported state and reason; service fields kept · history `state open → closed` / `open → filtered`',
    },
  },
  {
    situation: 'Port absent, inside the scanned range',
    given: state(base()),
    when: (mode) => later(mode, { ports: [http()], coverage: { tcp: [[1, 1000]] } }),
    then: {
      ...all<Expect>({ outcome: 'unchanged', changes: [], ports: { '22/tcp': { state: 'open' } } }),
      insert: SKIPPED,
      replace: { outcome: 'updated', changes: ['22/tcp state: open → closed'], ports: { '22/tcp': { state: 'closed', cause: 'absence' } }, closed: 1 },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'kept open · no history',
      update: 'kept open · no history',
      replace: 'closed by absence (`cause: absence`; a stored closed/filtered port is left as is) · history `state open → closed`, rule names the range',
    },
  },
  {
    situation: 'Port absent, outside the scanned range',
    given: state(base({ ports: [...stored(), port('8080/tcp', 'open')] })),
    when: (mode) => later(mode, { coverage: { tcp: [[1, 1000]] } }),
    then: insertSkips<Expect>({ outcome: 'unchanged', changes: [], ports: { '8080/tcp': { state: 'open' } } }, SKIPPED),
    doc: insertSkips('untouched · no history', SKIP_DOC),
  },
  {
    situation: 'Unknown coverage (protocol absent from coverage)',
    given: state(base()),
    when: (mode) => later(mode, { ports: [http()], coverage: {} }),
    then: insertSkips<Expect>({ outcome: 'unchanged', changes: [], ports: { '22/tcp': { state: 'open' } } }, SKIPPED),
    doc: {
      insert: SKIP_DOC,
      append: 'untouched: nothing closes by absence · no history',
      update: 'untouched: nothing closes by absence · no history',
      replace: 'untouched: nothing closes by absence (a port the report names non-open still closes) · no history',
    },
  },
  {
    situation: 'Hostnames in the report',
    given: state(base()),
    when: (mode) => later(mode, { hostnames: ['b.example'] }),
    then: insertSkips<Expect>(
      { outcome: 'updated', changes: ['hostname: — → b.example'], hostnames: ['a.example', 'b.example'] },
      { outcome: 'updated', changes: ['hostname: — → b.example'], hostnames: ['a.example', 'b.example'] },
    ),
    doc: insertSkips('merged (union) · history `hostname — → <name>`', 'merged (union); the rest of the host is skipped · history `hostname — → <name>`'),
  },
  {
    situation: 'PTR name changed',
    given: state(base({ hostnames: [{ name: 'a.example', type: 'user' }, { name: 'old.example', type: 'PTR' }] })),
    when: (mode) => later(mode, { hostnames: [{ name: 'new.example', type: 'PTR' }] }),
    then: {
      ...all<Expect>({ outcome: 'updated', changes: ['hostname: — → new.example'], hostnames: ['a.example', 'new.example', 'old.example'] }),
      replace: { outcome: 'updated', changes: ['hostname: — → new.example', 'hostname: old.example → —'], hostnames: ['a.example', 'new.example'] },
    },
    doc: {
      insert: 'merged (union); the rest of the host is skipped · history `hostname — → <name>`',
      append: 'merged (union), old name kept · history `hostname — → <name>`',
      update: 'merged (union), old name kept · history `hostname — → <name>`',
      replace:
        'merged; a name known only from PTR answers and absent from a report that carries a PTR answer is removed (user names never; a report without names removes nothing) · history `hostname — → new`, `hostname old → —`',
    },
  },
  {
    situation: 'UDP open\\|filtered',
    given: state(base({ ports: [...stored(), port('161/udp', 'open|filtered')], coverage: { tcp: [[1, 1000]], udp: [[1, 1000]] } })),
    when: (mode) =>
      later(mode, { ports: [...stored(), port('161/udp', 'open|filtered'), port('53/udp', 'open|filtered')], coverage: { tcp: [[1, 1000]], udp: [[1, 1000]] } }),
    then: insertSkips<Expect>(
      {
        outcome: 'updated',
        changes: ['53/udp state: — → open|filtered'],
        ports: { '161/udp': { state: 'open|filtered' }, '53/udp': { state: 'open|filtered' } },
        opened: 0,
      },
      { ...SKIPPED, ports: { '53/udp': 'absent', '161/udp': { state: 'open|filtered' } } },
    ),
    doc: insertSkips(
      'kept: a new open\\|filtered port is added, a stored one stays · history `state — → open\\|filtered` (not counted as opened)',
      SKIP_DOC,
    ),
  },
  {
    situation: 'Stored open, report says open\\|filtered',
    given: state(base({ ports: [...stored(), port('161/udp', 'open', { name: 'snmp' })], coverage: { tcp: [[1, 1000]], udp: [[161, 161]] } })),
    when: (mode) => later(mode, { ports: [...stored(), port('161/udp', 'open|filtered')], coverage: { tcp: [[1, 1000]], udp: [[161, 161]] } }),
    then: {
      ...all<Expect>({ outcome: 'unchanged', changes: [], ports: { '161/udp': { state: 'open' } } }),
      insert: SKIPPED,
      replace: { outcome: 'updated', changes: ['161/udp state: open → open|filtered'], ports: { '161/udp': { state: 'open|filtered', name: 'snmp' } }, closed: 1 },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'kept open (a weaker reading) · no history',
      update: 'kept open (a weaker reading) · no history',
      replace: 'set to open\\|filtered, counted as closed · history `state open → open\\|filtered`',
    },
  },
  {
    situation: 'Port new in the report, not open (closed/filtered)',
    given: state(base()),
    when: (mode) => later(mode, { ports: [...stored(), port('25/tcp', 'closed')] }),
    then: {
      ...all<Expect>({ outcome: 'updated', changes: ['25/tcp state: — → closed'], ports: { '25/tcp': { state: 'closed' } }, opened: 0 }),
      insert: { ...SKIPPED, ports: { '25/tcp': 'absent' } },
      append: { outcome: 'unchanged', changes: [], ports: { '25/tcp': 'absent' } },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'not recorded (append adds only ports that may listen: open, open\\|filtered) · no history',
      update: 'recorded in its reported state · history `state — → closed`',
      replace: 'recorded in its reported state · history `state — → closed`',
    },
  },
  {
    situation: 'Stored closed, report says open',
    given: state(base({ ports: [...stored(), port('25/tcp', 'closed')] })),
    when: (mode) => later(mode, { ports: [...stored(), port('25/tcp', 'open', { name: 'smtp' })] }),
    then: {
      ...all<Expect>({
        outcome: 'updated',
        changes: ['25/tcp state: closed → open', '25/tcp service.name: — → smtp'],
        ports: { '25/tcp': { state: 'open', name: 'smtp' } },
        opened: 1,
      }),
      insert: { ...SKIPPED, ports: { '25/tcp': { state: 'closed' } } },
      append: { outcome: 'updated', changes: ['25/tcp state: closed → open'], ports: { '25/tcp': { state: 'open', name: null } }, opened: 1 },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'opened (append accepts moves towards open); service fields not touched · history `state closed → open`',
      update: 'opened and service refreshed · history `state closed → open` + a row per service field set',
      replace: 'opened and service refreshed · history `state closed → open` + a row per service field set',
    },
  },
  {
    situation: 'Stored filtered, report says closed',
    given: state(base({ ports: [...stored(), port('25/tcp', 'filtered')] })),
    when: (mode) => later(mode, { ports: [...stored(), port('25/tcp', 'closed')] }),
    then: {
      ...all<Expect>({ outcome: 'updated', changes: ['25/tcp state: filtered → closed'], ports: { '25/tcp': { state: 'closed' } }, opened: 0, closed: 0 }),
      insert: SKIPPED,
      append: { outcome: 'unchanged', changes: [], ports: { '25/tcp': { state: 'filtered' } } },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'kept (append only moves a port towards open) · no history',
      update: 'changed (update never lowers openness; equal is allowed) · history `state filtered → closed`',
      replace: 'changed · history `state filtered → closed`',
    },
  },
  {
    situation: 'Report observed before the stored facts',
    given: state(base({ at: 5 })),
    when: (mode) =>
      later(mode, { at: 3, ports: [port('22/tcp', 'closed'), port('80/tcp', 'open', { name: 'http', product: 'Apache' }), port('443/tcp', 'open')] }),
    then: insertSkips<Expect>(
      {
        outcome: 'updated',
        changes: ['443/tcp state: — → open'],
        ports: { '22/tcp': { state: 'open' }, '80/tcp': { product: 'nginx' }, '443/tcp': { state: 'open' } },
      },
      SKIPPED,
    ),
    doc: insertSkips(
      'new ports are added; every stored fact observed later than the report is kept (state, service fields, scripts, names, host facts), so an old report never rolls back or closes · history only for the additions',
      SKIP_DOC,
    ),
  },
  {
    situation: 'Host facts (status, OS, MAC, uptime, trace …)',
    given: state(base()),
    when: (mode) =>
      later(mode, {
        host: {
          os: { matches: [{ name: 'Linux 5.X', classes: [] }], portsUsed: [] },
          addresses: [
            { addr: IP, addrtype: 'ipv4' },
            { addr: '00:11:22:33:44:55', addrtype: 'mac', vendor: 'Acme' },
          ],
        },
      }),
    then: {
      ...all((w: When) => {
        expect(w.result.outcome).toBe('unchanged');
        expect(w.result.changes).toEqual([]);
        expect(w.result.state.os?.value.matches[0].name).toBe('Linux 5.X');
        expect(w.result.state.os?.eventId).toBe('ev-when');
        expect(w.result.state.addresses.find((a) => a.addrtype === 'mac')).toMatchObject({ addr: '00:11:22:33:44:55', vendor: 'Acme' });
      }),
      insert: (w) => {
        expect(w.result.outcome).toBe('skipped');
        expect(w.result.state.os).toBeNull();
      },
      append: (w) => {
        expect(w.result.changes).toEqual([]);
        expect(w.result.state.os).toBeNull();
        expect(w.result.state.addresses.map((a) => a.addrtype)).toEqual(['ipv4']);
      },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'untouched · no history',
      update: 'refreshed with non-blank values (a blank OS/uptime/trace never clears; IPs accumulate, a new MAC replaces the old) · no history, provenance updated',
      replace: 'refreshed with non-blank values (a blank OS/uptime/trace never clears; IPs accumulate, a new MAC replaces the old) · no history, provenance updated',
    },
  },
  {
    situation: 'Host reported down',
    given: state(base()),
    when: (mode) => later(mode, { ports: [], coverage: { tcp: [[1, 1000]] }, host: { status: { state: 'down', reason: 'no-response' } } }),
    then: {
      ...all((w: When) => {
        expect(w.result.changes).toEqual([]);
        expect(w.result.state.ports['tcp/22'].state).toBe('open');
        expect(w.result.state.coverage.map((c) => c.eventId)).toEqual(['ev-1']);
        expect(w.result.state.lastSeen).toBe(w.previous?.lastSeen);
      }),
      insert: SKIPPED,
    },
    doc: {
      insert: SKIP_DOC,
      append: 'nothing closes and no coverage is recorded (nmap scans no ports of a down host); lastSeen not advanced · no history',
      update: 'nothing closes, no coverage recorded, lastSeen not advanced; status refreshed to down · no history',
      replace: 'nothing closes, no coverage recorded, lastSeen not advanced; status refreshed to down · no history',
    },
  },
  {
    situation: 'masscan: same import, one `<host>` per port (new host)',
    given: (mode) => foldAll([later(mode, { source: 'imp-m', ports: [port('80/tcp')], args: 'masscan -p1-1000' })]),
    when: (mode) => later(mode, { source: 'imp-m', ports: [port('443/tcp')], args: 'masscan -p1-1000' }),
    then: all<Expect>({ outcome: 'updated', changes: ['443/tcp state: — → open'], ports: { '80/tcp': { state: 'open' }, '443/tcp': { state: 'open' } }, closed: 0 }),
    doc: all('merged into the host this import created (insert too): the port is added and nothing the import reported earlier closes · history `state — → open`'),
  },
  {
    situation: 'masscan: same import, one `<host>` per port (known host)',
    given: (mode) => foldAll([base(), later(mode, { source: 'imp-m', ports: [port('80/tcp')], args: 'masscan -p1-1000' })]),
    when: (mode) => later(mode, { source: 'imp-m', ports: [port('443/tcp')], args: 'masscan -p1-1000' }),
    then: {
      insert: { ...SKIPPED, ports: { '443/tcp': 'absent' } },
      append: { outcome: 'updated', changes: ['443/tcp state: — → open'], ports: { '22/tcp': { state: 'open' }, '80/tcp': { state: 'open' }, '443/tcp': { state: 'open' } } },
      update: { outcome: 'updated', changes: ['443/tcp state: — → open'], ports: { '22/tcp': { state: 'open' }, '80/tcp': { state: 'open' }, '443/tcp': { state: 'open' } } },
      replace: {
        outcome: 'updated',
        changes: ['443/tcp state: — → open'],
        ports: { '22/tcp': { state: 'closed', cause: 'absence' }, '80/tcp': { state: 'open' }, '443/tcp': { state: 'open' } },
        closed: 0,
      },
    },
    doc: {
      insert: SKIP_DOC,
      append: 'each element adds its port · history `state — → open` per element',
      update: 'each element adds its port · history `state — → open` per element',
      replace:
        'each element adds its port; a port an earlier element of the same import reported is never closed by a later one (absence or non-open reading); stored ports no element reported close by absence · history `state — → open`',
    },
  },
  {
    situation: 'Host deleted, then observed again',
    given: () => {
      const s = foldAll([base()])!;
      return foldHostDeleted(s, { eventId: 'ev-del', occurredAt: '2024-01-01T12:00:00.000Z', actor }).state;
    },
    when: (mode) => later(mode, { ports: [ssh()] }),
    then: all((w: When) => {
      expect(w.result.outcome).toBe('created');
      expect(w.result.changes.map(describeChange)).toEqual(['host: — → present', '22/tcp state: — → open']);
      expect(w.result.changes[0].rule).toBe(`reappeared after deletion: observed by ${w.result.changes[0].mode} import imp-b`);
      expect(w.result.state.deleted).toBe(false);
      expect(Object.keys(w.result.state.ports)).toEqual(['tcp/22']);
      expect(w.result.state.hostnames).toEqual({});
    }),
    doc: all('created afresh; facts from before the deletion are not carried over · history `host — → present` (rule "reappeared after deletion") and a state row per port'),
  },
];

export function renderMatrix(): string {
  const lines = ['| Situation (known host unless stated) | insert | append | update | replace |', '|---|---|---|---|---|'];
  for (const row of MATRIX) lines.push(`| ${row.situation} | ${MODES.map((m) => row.doc[m]).join(' | ')} |`);
  return lines.join('\n');
}
