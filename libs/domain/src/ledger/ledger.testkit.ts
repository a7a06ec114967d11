// Given/when/then for the ledger fold: given(previous observations).when(observation).then(facts).
// Test-only (not exported from index.ts).
import type { Coverage, HostObservedV1, ImportMode, NmapHost, NmapHostname, NmapPort, NmapScript, NmapService, Protocol } from '#events';
import { foldObservation } from './fold.js';
import type { Change, FoldMeta, FoldResult, HostState, PortKey, PortRecord } from './host-state.js';

export const IP = '10.0.0.1';

/** Day n of January 2024, midnight UTC: readable ordering in tests. */
export const day = (n: number): string => `2024-01-${String(n).padStart(2, '0')}T00:00:00.000Z`;

export interface PortSpec extends Partial<Omit<NmapService, 'cpes'>> {
  cpes?: string[];
  scripts?: NmapScript[];
  reason?: string;
  ttl?: number;
}

/** port('22/tcp', 'open', { name: 'ssh', product: 'OpenSSH' }) */
export function port(spec: `${number}/${Protocol}`, state = 'open', svc: PortSpec = {}): NmapPort {
  const [n, proto] = spec.split('/') as [string, Protocol];
  const { scripts = [], reason, ttl, cpes = [], ...service } = svc;
  const hasService = Object.keys(service).length > 0 || cpes.length > 0;
  return {
    protocol: proto,
    port: Number(n),
    state: { state, ...(reason === undefined ? {} : { reason }), ...(ttl === undefined ? {} : { reasonTtl: ttl }) },
    ...(hasService ? { service: { ...service, cpes } } : {}),
    scripts,
  };
}

export function script(id: string, output: string): NmapScript {
  return { id, output, nodes: [{ kind: 'elem', key: 'out', value: output }] };
}

export interface ObsInit {
  mode?: ImportMode;
  /** importId; `task:<id>` makes it a task. */
  source?: string;
  at?: number | string;
  ports?: NmapPort[];
  coverage?: Coverage;
  hostnames?: (string | NmapHostname)[];
  trackHistory?: boolean;
  args?: string;
  ip?: string;
  host?: Partial<NmapHost>;
}

export function observe(init: ObsInit = {}): HostObservedV1 {
  const src = init.source ?? 'imp-a';
  const ip = init.ip ?? IP;
  return {
    projectId: 'p1',
    mode: init.mode ?? 'update',
    trackHistory: init.trackHistory ?? true,
    source: src.startsWith('task:')
      ? { kind: 'task', taskId: src.slice(5), scanId: 'scan-1', workerId: 'w1' }
      : { kind: 'import', importId: src, fileSha256: `sha-${src}` },
    run: { scanner: 'nmap', version: '7.95', args: init.args ?? 'nmap -sV -p1-1000' },
    coverage: init.coverage ?? { tcp: [[1, 1000]] },
    observedAt: typeof init.at === 'string' ? init.at : day(init.at ?? 1),
    host: {
      ip,
      addresses: [{ addr: ip, addrtype: 'ipv4' }],
      status: { state: 'up', reason: 'syn-ack' },
      hostnames: (init.hostnames ?? []).map((h) => (typeof h === 'string' ? { name: h, type: 'PTR' } : h)),
      ports: init.ports ?? [],
      extraPorts: [],
      hostScripts: [],
      ...init.host,
    },
  };
}

export const actor = { kind: 'user', id: 'u1' } as const;

export function metaFor(eventId: string, obs: HostObservedV1): FoldMeta {
  return { eventId, occurredAt: obs.observedAt, actor };
}

/** Folds a sequence from nothing, naming events ev-1, ev-2, … */
export function foldAll(observations: readonly HostObservedV1[], from: HostState | null = null): HostState | null {
  let s = from;
  observations.forEach((o, i) => {
    s = foldObservation(s, o, metaFor(`ev-${i + 1}`, o)).state;
  });
  return s;
}

/** "22/tcp state: open → closed", "hostname: — → a.example", "22/tcp script http-title: — → x". */
export function describeChange(c: Change): string {
  const where = c.port === undefined ? '' : `${c.port}/${c.proto} `;
  const key = c.key === undefined ? '' : ` ${c.key}`;
  const v = (x: Change['old']): string => (x === null ? '—' : typeof x === 'string' ? x : `[${x.join(' ')}]`);
  return `${where}${c.field}${key}: ${v(c.old)} → ${v(c.new)}`;
}

export interface PortExpect {
  state?: string;
  cause?: 'reported' | 'absence';
  name?: string | null;
  product?: string | null;
  version?: string | null;
  extrainfo?: string | null;
  cpes?: string[] | null;
  scripts?: Record<string, string>;
}

export interface Expect {
  outcome?: FoldResult['outcome'];
  /** Exact, in order; [] means "no history". */
  changes?: string[];
  ports?: Record<string, PortExpect | 'absent'>;
  hostnames?: string[];
  opened?: number;
  closed?: number;
}

export interface When {
  readonly result: FoldResult;
  readonly previous: HostState | null;
  port(key: PortKey): PortRecord | undefined;
  then(expected: Expect | ((w: When) => void)): When;
}

export interface Given {
  readonly state: HostState | null;
  when(obs: HostObservedV1): When;
}

export function given(...previous: HostObservedV1[]): Given {
  return givenState(foldAll(previous));
}

/** For starting points observations alone cannot reach (a deleted host). */
export function givenState(state: HostState | null): Given {
  return {
    state,
    when(obs: HostObservedV1): When {
      const result = foldObservation(state, obs, metaFor('ev-when', obs));
      const w: When = {
        result,
        previous: state,
        port: (key) => result.state.ports[key],
        then(expected) {
          if (typeof expected === 'function') expected(w);
          else check(w, expected);
          return w;
        },
      };
      return w;
    },
  };
}

/** Projects a stored port onto the fields an Expect names, so a mismatch shows as a readable diff. */
function portView(rec: PortRecord | undefined, want: PortExpect | 'absent'): unknown {
  if (want === 'absent' || rec === undefined) return rec === undefined ? 'absent' : 'present';
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(want) as (keyof PortExpect)[]) {
    if (k === 'state') out.state = rec.state;
    else if (k === 'cause') out.cause = rec.cause;
    else if (k === 'cpes') out.cpes = rec.cpes?.value ?? null;
    else if (k === 'scripts') out.scripts = Object.fromEntries(Object.entries(rec.scripts).map(([id, f]) => [id, f.value.output]));
    else out[k] = rec.service[k]?.value ?? null;
  }
  return out;
}

function check(w: When, e: Expect): void {
  const r = w.result;
  if (e.outcome !== undefined) expect(r.outcome).toBe(e.outcome);
  if (e.changes !== undefined) expect(r.changes.map(describeChange)).toEqual(e.changes);
  if (e.ports !== undefined) {
    const got: Record<string, unknown> = {};
    for (const [k, want] of Object.entries(e.ports)) got[k] = portView(r.state.ports[toKey(k)], want);
    expect(got).toEqual(Object.fromEntries(Object.entries(e.ports).map(([k, v]) => [k, v === 'absent' ? 'absent' : v])));
  }
  if (e.hostnames !== undefined) expect(Object.keys(r.state.hostnames)).toEqual(e.hostnames);
  if (e.opened !== undefined) expect(r.portsOpened).toBe(e.opened);
  if (e.closed !== undefined) expect(r.portsClosed).toBe(e.closed);
}

/** Accepts nmap's "22/tcp" in expectations and maps it to the ledger key "tcp/22". */
export function toKey(k: string): PortKey {
  const [a, b] = k.split('/');
  return (/^\d+$/.test(a) ? `${b}/${a}` : k) as PortKey;
}
