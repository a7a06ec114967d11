import type { HostObservedV1, ImportMode, NmapPort, NmapScript, PortRange, Protocol, Provenance } from '#events';
import { plain, sameJson } from './canonical-json.js';
import {
  MAX_RECENT_SOURCES,
  SERVICE_FIELDS,
  TRACKED_SERVICE_FIELDS,
  portKey,
  type ActorRef,
  type AddressRecord,
  type Change,
  type ChangeField,
  type ChangeValue,
  type CoverageRecord,
  type Fact,
  type FoldMeta,
  type FoldResult,
  type HostState,
  type HostnameRecord,
  type PortKey,
  type PortRecord,
  type ServiceFacts,
  type ServiceField,
  type SourceRecord,
  type SourceSeen,
  type Stamp,
} from './host-state.js';
import { formatRange, normaliseRanges, rangeContaining, subtractRanges } from './port-ranges.js';
import { compareTime, earlierOf, laterOf } from './time.js';

// The import-mode matrix lives in docs/import-modes.md; fold.matrix.unit.spec.ts checks every cell of
// it against this code, so change the three together.

export const PROTOCOL_ORDER: readonly Protocol[] = ['tcp', 'udp', 'sctp', 'ip'];

type Writable<T> = { -readonly [K in keyof T]: T[K] };
type PortDraft = Writable<Omit<PortRecord, 'service' | 'scripts'>> & {
  service: Writable<ServiceFacts>;
  scripts: Record<string, Fact<NmapScript>>;
};
type Draft = Writable<
  Omit<HostState, 'ports' | 'hostnames' | 'hostScripts' | 'addresses' | 'coverage' | 'recentSources' | 'sources'>
> & {
  ports: Record<PortKey, PortDraft>;
  hostnames: Record<string, HostnameRecord>;
  hostScripts: Record<string, Fact<NmapScript>>;
  addresses: AddressRecord[];
  coverage: CoverageRecord[];
  recentSources: SourceSeen[];
  sources: Record<string, SourceRecord>;
};

/**
 * How sure a state is that something listens. Append only moves a port up this scale, update never
 * moves it down, replace goes anywhere: that is the whole difference between the modes for state.
 */
export function openness(state: string): 0 | 1 | 2 {
  return state === 'open' ? 2 : state === 'open|filtered' ? 1 : 0;
}

export function sourceIdOf(source: Provenance): string {
  return source.kind === 'import' ? `import:${source.importId}` : `task:${source.taskId}`;
}

/**
 * Folds one HostObserved event into the host's read model. Pure: time and ids come from the event and
 * its envelope (meta), so replaying the log rebuilds byte-identical state. `owned` lets a caller that
 * discards `state` and the changes (a replay) skip the defensive copy; the result may share parts of it.
 */
export function foldObservation(state: HostState | null, obs: HostObservedV1, meta: FoldMeta, owned = false): FoldResult {
  const creating = state === null || state.deleted;
  if (state !== null && state.ip !== obs.host.ip) {
    throw new Error(`foldObservation: observation of ${obs.host.ip} folded into the state of ${state.ip}`);
  }
  const f = new Folding(creating ? null : state, obs, meta, owned);
  return f.run(state?.deleted === true);
}

export interface DeleteResult {
  readonly state: HostState;
  readonly changes: readonly Change[];
  readonly outcome: 'updated' | 'unchanged';
}

/**
 * Marks the host deleted but keeps its facts: the history and explain views still need the evidence,
 * and the next observation of the IP starts a fresh host (see foldObservation).
 */
export function foldHostDeleted(state: HostState, meta: FoldMeta): DeleteResult {
  if (state.deleted) return { state, changes: [], outcome: 'unchanged' };
  const d = clone(state);
  const actor = actorRef(meta.actor);
  d.deleted = true;
  d.deletedBy = { eventId: meta.eventId, observedAt: meta.occurredAt };
  d.sources[meta.eventId] = { sourceId: null, source: null, mode: null, run: null, actor, observedAt: meta.occurredAt };
  const change: Change = {
    ip: state.ip,
    field: 'host',
    old: 'present',
    new: null,
    rule: `disappeared: host deleted by ${actor.kind} ${actor.id}`,
    eventId: meta.eventId,
    observedAt: meta.occurredAt,
    source: null,
    mode: null,
    actor,
    run: null,
    // Deletes are user actions without a trackHistory switch; an audit trail that can lose them is not one.
    recorded: true,
  };
  return { state: finalise(d), changes: [change], outcome: 'updated' };
}

class Folding {
  private readonly d: Draft;
  private readonly changes: Change[] = [];
  private opened = 0;
  private closed = 0;
  private readonly stamp: Stamp;
  private readonly sourceId: string;
  private readonly down: boolean;
  private readonly creating: boolean;
  /** This observation is a later <host> element of the run that created the host (masscan). */
  private readonly continuation: boolean;
  private readonly mode: ImportMode;
  private readonly label: string;
  private readonly earlier: SourceSeen | undefined;
  /** One detached copy for all of this fold's changes (they only carry it as provenance). */
  private readonly provenance: { readonly source: Change['source']; readonly run: Change['run'] };

  constructor(
    prev: HostState | null,
    private readonly obs: HostObservedV1,
    private readonly meta: FoldMeta,
    owned: boolean,
  ) {
    this.stamp = { eventId: meta.eventId, observedAt: obs.observedAt };
    this.sourceId = sourceIdOf(obs.source);
    this.creating = prev === null;
    this.d = prev === null ? emptyDraft(obs, this.stamp, this.sourceId) : owned ? (prev as unknown as Draft) : clone(prev);
    this.down = obs.host.status?.state?.trim() === 'down';
    this.continuation = prev !== null && prev.sources[prev.appearedBy.eventId]?.sourceId === this.sourceId;
    // A new host is recorded in full whatever the mode; a run's later elements for a host it created
    // merge as update would (never closing, see `earlier`), or insert would drop masscan's second port.
    this.mode = this.creating || (this.continuation && obs.mode === 'insert') ? 'update' : obs.mode;
    const s = obs.source;
    const base = s.kind === 'import' ? `${obs.mode} import ${short(s.importId)}` : `${obs.mode} task ${short(s.taskId)}`;
    this.label = this.continuation ? `${base} (same run that created this host)` : base;
    this.earlier = this.d.recentSources.find((r) => r.sourceId === this.sourceId);
    this.provenance = { source: plain(obs.source), run: plain(obs.run) };
    this.d.sources[meta.eventId] = {
      sourceId: this.sourceId,
      source: plain(obs.source),
      mode: obs.mode,
      run: plain(obs.run),
      actor: actorRef(meta.actor),
      observedAt: obs.observedAt,
    };
  }

  run(reappearing: boolean): FoldResult {
    if (this.creating) {
      this.record({
        field: 'host',
        old: null,
        new: 'present',
        rule: reappearing ? `reappeared after deletion: observed by ${this.label}` : `appeared: first observed by ${this.label}`,
      });
    }
    if (this.mode === 'insert') {
      // Insert trusts nothing new about a known host except names, which only ever add information.
      this.mergeHostnames();
    } else {
      const listed = this.applyReportedPorts();
      if (this.mode === 'replace' && !this.down) this.closeByAbsence(listed);
      this.mergeHostnames();
      if (this.mode === 'update' || this.mode === 'replace') this.refreshHostFacts();
      if (!this.down) this.addCoverage();
      this.noteSource(listed);
      this.d.lastSourceId = this.sourceId;
      if (!this.down && !this.creating) {
        this.d.lastSeen = laterOf(this.d.lastSeen, this.obs.observedAt);
        this.d.firstSeen = earlierOf(this.d.firstSeen, this.obs.observedAt);
      }
    }
    collectUnusedSources(this.d);
    const outcome = this.creating
      ? 'created'
      : this.changes.length > 0
        ? 'updated'
        : this.obs.mode === 'insert' && !this.continuation
          ? 'skipped'
          : 'unchanged';
    return { state: finalise(this.d), changes: this.changes, outcome, portsOpened: this.opened, portsClosed: this.closed };
  }

  // ---- ports ------------------------------------------------------------------------------------

  /** Applies every port entry of the report; returns the keys the report listed (all of them). */
  private applyReportedPorts(): Map<PortKey, string> {
    const listed = new Map<PortKey, string>();
    for (const [key, p] of reportedPorts(this.obs.host.ports)) {
      const reported = stateOf(p);
      listed.set(key, reported);
      const rec = this.d.ports[key];
      if (rec === undefined) this.addPort(key, p, reported);
      else {
        rec.lastSeen = laterOf(rec.lastSeen, this.obs.observedAt);
        const accepted = this.applyState(key, rec, p, reported);
        if (accepted && this.mode !== 'append') this.refreshService(rec, p, true);
      }
    }
    return listed;
  }

  private addPort(key: PortKey, p: NmapPort, reported: string): void {
    // Append is for partial scans whose negatives are not trusted, so it keeps only ports that may listen.
    if (this.mode === 'append' && openness(reported) === 0) return;
    const rec: PortDraft = {
      proto: p.protocol,
      port: p.port,
      state: reported,
      reason: text(p.state.reason),
      ttl: num(p.state.reasonTtl),
      cause: 'reported',
      stateSetBy: { ...this.stamp },
      service: {},
      cpes: null,
      scripts: {},
      firstSeen: this.obs.observedAt,
      lastSeen: this.obs.observedAt,
    };
    // A port's first service values belong to its "appeared" row; separate rows would only repeat them.
    this.refreshService(rec, p, false);
    this.d.ports[key] = rec;
    if (reported === 'open') this.opened++;
    this.record({
      proto: p.protocol,
      port: p.port,
      field: 'state',
      old: null,
      new: reported,
      rule: this.creating
        ? `recorded with the new host by ${this.label}: the report names ${show(key)} ${reported}`
        : `added by ${this.label}: ${show(key)} was not in the ledger and the report names it ${reported}`,
    });
  }

  /** Returns whether the report's entry for this port was accepted (so its service may refresh). */
  private applyState(key: PortKey, rec: PortDraft, p: NmapPort, reported: string): boolean {
    if (reported === rec.state) {
      if (this.mode !== 'append' && !this.older(rec.stateSetBy)) {
        rec.reason = text(p.state.reason) ?? rec.reason;
        rec.ttl = num(p.state.reasonTtl) ?? rec.ttl;
        if (rec.cause === 'absence') {
          // Same state, but now named by a report instead of inferred: the fact's basis changed.
          rec.cause = 'reported';
          rec.stateSetBy = { ...this.stamp };
        }
      }
      return true;
    }
    const up = openness(reported) - openness(rec.state);
    if (this.d.sources[rec.stateSetBy.eventId]?.sourceId === this.sourceId) {
      // Readings of one run combine like duplicate entries of one report: the more open one wins,
      // whatever their order or timestamps (masscan stamps each <host> element separately).
      if (up <= 0) return false;
    } else {
      if (this.older(rec.stateSetBy)) return false;
      // Another source changed the port between two elements of this run; this run's later element
      // still may not take back what its earlier one reported open.
      if (this.earlier?.open.includes(key) && openness(reported) < 2) return false;
      const allowed = this.mode === 'replace' || (this.mode === 'update' ? up >= 0 : up > 0);
      if (!allowed) return false;
    }
    const old = rec.state;
    rec.state = reported;
    rec.reason = text(p.state.reason);
    rec.ttl = num(p.state.reasonTtl);
    rec.cause = 'reported';
    rec.stateSetBy = { ...this.stamp };
    this.count(old, reported);
    const verb = reported === 'open' ? 'opened' : old === 'open' ? 'closed' : 'changed';
    const why = rec.reason === null ? '' : ` (reason ${rec.reason})`;
    this.record({
      proto: rec.proto,
      port: rec.port,
      field: 'state',
      old,
      new: reported,
      rule: `${verb} by ${this.label}: the report names ${show(key)} ${reported}${why}`,
    });
    return true;
  }

  private closeByAbsence(listed: Map<PortKey, string>): void {
    const coverage = knownCoverage(this.obs.coverage);
    for (const key of sortedPortKeys(Object.keys(this.d.ports) as PortKey[])) {
      const rec = this.d.ports[key];
      if (listed.has(key)) continue;
      const ranges = coverage.get(rec.proto);
      const range = ranges === undefined ? null : rangeContaining(ranges, rec.port);
      if (range === null) continue;
      // Absence only proves "not listening"; it cannot tell closed from filtered, so it never overrides one.
      if (openness(rec.state) === 0) continue;
      if (this.earlier?.listed.includes(key)) continue;
      if (this.older(rec.stateSetBy)) continue;
      const old = rec.state;
      rec.state = 'closed';
      rec.reason = null;
      rec.ttl = null;
      rec.cause = 'absence';
      rec.stateSetBy = { ...this.stamp };
      this.count(old, 'closed');
      this.record({
        proto: rec.proto,
        port: rec.port,
        field: 'state',
        old,
        new: 'closed',
        rule: `closed by ${this.label}: ${show(key)} was inside the scanned range ${formatRange(range)} and absent from the report`,
      });
    }
  }

  private refreshService(rec: PortDraft, p: NmapPort, track: boolean): void {
    const svc = p.service;
    if (svc !== undefined) {
      const facts = rec.service as Record<ServiceField, Fact<string | number> | undefined>;
      for (const field of SERVICE_FIELDS) {
        const raw = svc[field];
        const value = typeof raw === 'number' ? num(raw) : text(raw);
        if (value === null) continue;
        const cur = facts[field];
        if (cur !== undefined && (cur.value === value || this.older(cur))) continue;
        facts[field] = fact(value, this.stamp);
        if (track && TRACKED_SERVICE_FIELDS.includes(field)) {
          this.record({
            proto: rec.proto,
            port: rec.port,
            field: `service.${field}` as ChangeField,
            old: cur === undefined ? null : String(cur.value),
            new: String(value),
            rule: `${field} refreshed by ${this.label}: ${refreshWhy(cur === undefined)}`,
          });
        }
      }
      const cpes = [...new Set(svc.cpes.map((c) => c.trim()).filter((c) => c !== ''))].sort();
      const cur = rec.cpes;
      if (cpes.length > 0 && !(cur !== null && (sameJson(cur.value, cpes) || this.older(cur)))) {
        rec.cpes = fact(cpes, this.stamp);
        if (track) {
          this.record({
            proto: rec.proto,
            port: rec.port,
            field: 'cpes',
            old: cur === null ? null : cur.value,
            new: cpes,
            rule: `CPEs refreshed by ${this.label}: ${refreshWhy(cur === null)}`,
          });
        }
      }
    }
    this.mergeScripts(rec.scripts, p.scripts, track, rec);
  }

  /** A report without a script says nothing about it (-sV alone runs none), so scripts merge by id. */
  private mergeScripts(
    into: Record<string, Fact<NmapScript>>,
    scripts: readonly NmapScript[],
    track: boolean,
    at: { proto: Protocol; port: number } | null,
  ): void {
    // One value per id, or a report naming an id twice would flip the fact (and its provenance) on every replay.
    const byId = new Map<string, NmapScript>();
    for (const s of scripts) {
      const id = s.id.trim();
      if (id !== '') byId.set(id, s);
    }
    for (const [id, s] of [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const value = plain({ id, output: s.output, nodes: s.nodes });
      const cur = into[id];
      // A script that ran and printed nothing is still a fact nmap reported, so it is kept; but a
      // blank result never replaces a stored one.
      const blank = s.output.trim() === '' && s.nodes.length === 0;
      if (cur !== undefined && (blank || sameJson(cur.value, value) || this.older(cur))) continue;
      into[id] = fact(value, this.stamp);
      if (!track || blank) continue;
      this.record({
        ...(at === null ? {} : { proto: at.proto, port: at.port }),
        field: 'script',
        key: id,
        old: cur === undefined ? null : cur.value.output,
        new: value.output,
        rule: `${at === null ? 'host script' : 'script'} ${id} ${cur === undefined ? 'added' : 'output changed'} by ${this.label}`,
      });
    }
  }

  // ---- host ---------------------------------------------------------------------------------------

  private mergeHostnames(): void {
    const reported = new Map<string, Set<string>>();
    for (const h of this.obs.host.hostnames) {
      const name = h.name.trim().toLowerCase().replace(/\.$/, '');
      if (name === '') continue;
      const types = reported.get(name) ?? new Set<string>();
      const type = text(h.type);
      if (type !== null) types.add(type);
      reported.set(name, types);
    }
    for (const name of [...reported.keys()].sort()) {
      const types = reported.get(name)!;
      const cur = this.d.hostnames[name];
      if (cur === undefined) {
        this.d.hostnames[name] = { name, types: [...types].sort(), addedBy: { ...this.stamp }, lastSeen: this.obs.observedAt };
        this.record({ field: 'hostname', old: null, new: name, rule: `hostname added by ${this.label}: hostnames are merged in every mode` });
      } else if (this.mode !== 'insert') {
        const merged = [...new Set([...cur.types, ...types])].sort();
        this.d.hostnames[name] = { ...cur, types: merged, lastSeen: laterOf(cur.lastSeen, this.obs.observedAt) };
      }
    }
    if (this.mode === 'replace') this.dropStalePtrNames(reported);
  }

  /**
   * A reverse lookup answers with the current name, so in a replace report that carries a PTR answer,
   * names known only from older PTR answers are gone. A report without names (nmap -n, masscan) is
   * blank and removes nothing; names a user typed are never disproved by DNS.
   */
  private dropStalePtrNames(reported: Map<string, Set<string>>): void {
    const ptr = [...reported].filter(([, t]) => t.has('PTR')).map(([n]) => n);
    if (ptr.length === 0) return;
    for (const name of Object.keys(this.d.hostnames).sort()) {
      const cur = this.d.hostnames[name];
      if (reported.has(name) || cur.types.length !== 1 || cur.types[0] !== 'PTR') continue;
      if (this.d.sources[cur.addedBy.eventId]?.sourceId === this.sourceId) continue;
      if (compareTime(this.obs.observedAt, cur.lastSeen) < 0) continue;
      delete this.d.hostnames[name];
      this.record({
        field: 'hostname',
        old: name,
        new: null,
        rule: `PTR hostname removed by ${this.label}: the report's reverse lookup gives ${ptr.join(', ')}`,
      });
    }
  }

  /** Host-level facts: refreshed by update/replace with non-blank values, without history rows. */
  private refreshHostFacts(): void {
    const h = this.obs.host;
    const d = this.d;
    d.status = this.refreshed(d.status, h.status);
    d.os = this.refreshed(d.os, h.os !== undefined && (h.os.matches.length > 0 || text(h.os.fingerprint) !== null) ? h.os : undefined);
    d.uptime = this.refreshed(d.uptime, h.uptime);
    d.distance = this.refreshed(d.distance, h.distance);
    d.trace = this.refreshed(d.trace, h.trace !== undefined && h.trace.hops.length > 0 ? h.trace : undefined);
    d.times = this.refreshed(d.times, h.times);
    d.scanTime = this.refreshed(d.scanTime, { start: h.startTime, end: h.endTime });
    d.extraPorts = this.refreshed(d.extraPorts, h.extraPorts);
    this.mergeAddresses();
    this.mergeScripts(d.hostScripts, h.hostScripts, !this.creating, null);
  }

  private refreshed<T>(cur: Fact<T> | null, value: T | undefined): Fact<T> | null {
    if (value === undefined) return cur;
    const v = plain(value);
    if (isBlank(v)) return cur;
    if (cur !== null && (sameJson(cur.value, v) || this.older(cur))) return cur;
    return fact(v, this.stamp);
  }

  /** IP addresses accumulate; a host has one MAC, so a different MAC replaces the old one. */
  private mergeAddresses(): void {
    const reported = this.obs.host.addresses.filter((a) => a.addr.trim() !== '');
    // A second MAC in one report would evict the first on every replay; the last one stands for the host.
    const lastMac = reported.filter((a) => a.addrtype === 'mac').at(-1);
    for (const a of reported) {
      if (a.addrtype === 'mac' && a !== lastMac) continue;
      const addr = a.addr.trim();
      const vendor = text(a.vendor);
      const found = this.d.addresses.findIndex((x) => x.addrtype === a.addrtype && x.addr.toLowerCase() === addr.toLowerCase());
      if (found >= 0) {
        const cur = this.d.addresses[found];
        if (vendor !== null && vendor !== cur.vendor && !this.older(cur.setBy)) {
          this.d.addresses[found] = { ...cur, vendor, setBy: { ...this.stamp } };
        }
        continue;
      }
      if (a.addrtype === 'mac') {
        if (this.d.addresses.some((x) => x.addrtype === 'mac' && this.older(x.setBy))) continue;
        this.d.addresses = this.d.addresses.filter((x) => x.addrtype !== 'mac');
      }
      this.d.addresses.push({ addr, addrtype: a.addrtype, vendor, setBy: { ...this.stamp } });
    }
  }

  private addCoverage(): void {
    const at = this.obs.observedAt;
    for (const [proto, scanned] of knownCoverage(this.obs.coverage)) {
      let ranges: PortRange[] = scanned;
      for (const c of this.d.coverage) {
        if (c.proto === proto && compareTime(c.observedAt, at) >= 0) ranges = subtractRanges(ranges, c.ranges);
      }
      this.d.coverage = this.d.coverage
        .map((c) => (c.proto === proto && compareTime(c.observedAt, at) < 0 ? { ...c, ranges: subtractRanges(c.ranges, ranges) } : c))
        .filter((c) => c.ranges.length > 0);
      if (ranges.length > 0) {
        this.d.coverage.push({ proto, ranges, eventId: this.meta.eventId, sourceId: this.sourceId, observedAt: at });
      }
    }
  }

  private noteSource(listed: Map<PortKey, string>): void {
    const open = [...listed].filter(([, s]) => s === 'open').map(([k]) => k);
    const entry: SourceSeen = {
      sourceId: this.sourceId,
      listed: sortedPortKeys([...new Set([...(this.earlier?.listed ?? []), ...listed.keys()])]),
      open: sortedPortKeys([...new Set([...(this.earlier?.open ?? []), ...open])]),
    };
    this.d.recentSources = [entry, ...this.d.recentSources.filter((s) => s.sourceId !== this.sourceId)].slice(0, MAX_RECENT_SOURCES);
  }

  // ---- bookkeeping ------------------------------------------------------------------------------

  /** Evidence observed before the fact it would change loses: importing an old report never rolls back. */
  private older(s: Stamp): boolean {
    return compareTime(this.obs.observedAt, s.observedAt) < 0;
  }

  private count(old: string, now: string): void {
    if (now === 'open' && old !== 'open') this.opened++;
    if (old === 'open' && now !== 'open') this.closed++;
  }

  private record(c: { proto?: Protocol; port?: number; field: ChangeField; key?: string; old: ChangeValue; new: ChangeValue; rule: string }): void {
    this.changes.push({
      ip: this.d.ip,
      ...(c.proto === undefined ? {} : { proto: c.proto, port: c.port }),
      field: c.field,
      ...(c.key === undefined ? {} : { key: c.key }),
      old: c.old,
      new: c.new,
      rule: c.rule,
      eventId: this.meta.eventId,
      observedAt: this.obs.observedAt,
      source: this.provenance.source,
      mode: this.obs.mode,
      actor: actorRef(this.meta.actor),
      run: this.provenance.run,
      // With history off the change still drives counts and outcome; the projector just does not store it.
      recorded: this.obs.trackHistory,
    });
  }
}

// ---- helpers --------------------------------------------------------------------------------------

function emptyDraft(obs: HostObservedV1, stamp: Stamp, sourceId: string): Draft {
  return {
    schema: 1,
    ip: obs.host.ip,
    deleted: false,
    deletedBy: null,
    appearedBy: { ...stamp },
    firstSeen: obs.observedAt,
    lastSeen: obs.observedAt,
    lastSourceId: sourceId,
    status: null,
    addresses: [],
    hostnames: {},
    ports: {},
    hostScripts: {},
    os: null,
    uptime: null,
    distance: null,
    trace: null,
    times: null,
    scanTime: null,
    extraPorts: null,
    coverage: [],
    recentSources: [],
    sources: {},
  };
}

/** A deep copy of plain JSON-like data; structuredClone's serialiser made it most of a rescan's fold time. */
function deepCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(deepCopy);
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = deepCopy(o[k]);
  return out;
}

function clone(state: HostState): Draft {
  return deepCopy(state) as Draft;
}

function fact<T>(value: T, stamp: Stamp): Fact<T> {
  return { value, eventId: stamp.eventId, observedAt: stamp.observedAt };
}

function actorRef(a: ActorRef): ActorRef {
  return { kind: a.kind, id: a.id };
}

function stateOf(p: NmapPort): string {
  return p.state.state.trim() || 'unknown';
}

/** One entry per port; if a report lists a port twice, the more open reading wins (see openness). */
function reportedPorts(ports: readonly NmapPort[]): [PortKey, NmapPort][] {
  const byKey = new Map<PortKey, NmapPort>();
  for (const p of ports) {
    const key = portKey(p.protocol, p.port);
    const cur = byKey.get(key);
    if (cur === undefined || openness(stateOf(p)) >= openness(stateOf(cur))) byKey.set(key, p);
  }
  return sortedPortKeys([...byKey.keys()]).map((k) => [k, byKey.get(k)!]);
}

/** Protocols the run's coverage names (even with an empty list); the others are unknown coverage. */
function knownCoverage(coverage: HostObservedV1['coverage']): Map<Protocol, PortRange[]> {
  const out = new Map<Protocol, PortRange[]>();
  for (const proto of PROTOCOL_ORDER) {
    const ranges = coverage[proto];
    if (ranges !== undefined) out.set(proto, normaliseRanges(ranges));
  }
  return out;
}

export function comparePortKeys(a: PortKey, b: PortKey): number {
  const [pa, na] = a.split('/');
  const [pb, nb] = b.split('/');
  return PROTOCOL_ORDER.indexOf(pa as Protocol) - PROTOCOL_ORDER.indexOf(pb as Protocol) || Number(na) - Number(nb);
}

function sortedPortKeys(keys: PortKey[]): PortKey[] {
  return [...keys].sort(comparePortKeys);
}

function text(v: string | undefined | null): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function num(v: number | undefined | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isBlank(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v.trim() === '';
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isBlank);
  if (typeof v === 'object') return Object.values(v).every(isBlank);
  return false;
}

function short(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/** nmap's spelling, 443/tcp, for sentences. */
function show(key: PortKey): string {
  const [proto, port] = key.split('/');
  return `${port}/${proto}`;
}

function refreshWhy(wasEmpty: boolean): string {
  return wasEmpty ? 'the report gives a value where none was stored' : 'the report gives a non-empty value that differs from the stored one';
}

/** Drops provenance entries no fact points at any more; otherwise every confirming rescan would grow the row. */
function collectUnusedSources(d: Draft): void {
  const used = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.eventId === 'string' && typeof o.observedAt === 'string') used.add(o.eventId);
      for (const k of Object.keys(o)) if (k !== 'value') walk(o[k]);
    }
  };
  const { sources, ...facts } = d;
  walk(facts);
  d.sources = Object.fromEntries(Object.entries(sources).filter(([id]) => used.has(id)));
}

function sortedRecord<T, U = T>(r: Record<string, T>, map?: (v: T) => U): Record<string, U> {
  const out: Record<string, U> = {};
  for (const k of Object.keys(r).sort()) out[k] = map ? map(r[k]) : (r[k] as unknown as U);
  return out;
}

function finalisePort(p: PortDraft): PortRecord {
  const service: Record<string, Fact<string | number>> = {};
  const facts = p.service as Record<ServiceField, Fact<string | number> | undefined>;
  for (const f of SERVICE_FIELDS) {
    const v = facts[f];
    if (v !== undefined) service[f] = v;
  }
  return {
    proto: p.proto,
    port: p.port,
    state: p.state,
    reason: p.reason,
    ttl: p.ttl,
    cause: p.cause,
    stateSetBy: p.stateSetBy,
    service: service as ServiceFacts,
    cpes: p.cpes,
    scripts: sortedRecord(p.scripts),
    firstSeen: p.firstSeen,
    lastSeen: p.lastSeen,
  };
}

/** Rebuilds the state in the fixed key order; two folds of the same events then serialise identically. */
function finalise(d: Draft): HostState {
  const ports: Record<string, PortRecord> = {};
  for (const k of sortedPortKeys(Object.keys(d.ports) as PortKey[])) ports[k] = finalisePort(d.ports[k]);
  return {
    schema: 1,
    ip: d.ip,
    deleted: d.deleted,
    deletedBy: d.deletedBy,
    appearedBy: d.appearedBy,
    firstSeen: d.firstSeen,
    lastSeen: d.lastSeen,
    lastSourceId: d.lastSourceId,
    status: d.status,
    addresses: [...d.addresses].sort((a, b) => (a.addrtype < b.addrtype ? -1 : a.addrtype > b.addrtype ? 1 : a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0)),
    hostnames: sortedRecord(d.hostnames),
    ports: ports as Record<PortKey, PortRecord>,
    hostScripts: sortedRecord(d.hostScripts),
    os: d.os,
    uptime: d.uptime,
    distance: d.distance,
    trace: d.trace,
    times: d.times,
    scanTime: d.scanTime,
    extraPorts: d.extraPorts,
    coverage: [...d.coverage].sort(
      (a, b) =>
        PROTOCOL_ORDER.indexOf(a.proto) - PROTOCOL_ORDER.indexOf(b.proto) ||
        compareTime(a.observedAt, b.observedAt) ||
        (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0),
    ),
    recentSources: d.recentSources,
    sources: sortedRecord(d.sources),
  };
}
