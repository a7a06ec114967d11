import type {
  ImportMode,
  NmapExtraPorts,
  NmapHost,
  NmapOs,
  NmapScript,
  PortRange,
  Protocol,
  Provenance,
} from '#events';

// The per-host read model. It is stored as JSONB and compared by checksum between a rebuild and the
// live projection, so it holds plain data only, uses null (never undefined) for "no value", and is
// built with a fixed key order (see fold.ts `finalise`).

export type PortKey = `${Protocol}/${number}`;

export function portKey(proto: Protocol, port: number): PortKey {
  return `${proto}/${port}`;
}

/** Which event set a fact, and when the evidence was observed (not when it was folded). */
export interface Stamp {
  readonly eventId: string;
  readonly observedAt: string;
}

export interface Fact<T> extends Stamp {
  readonly value: T;
}

export interface RunInfo {
  readonly scanner: string;
  readonly version?: string;
  readonly args?: string;
}

export interface ActorRef {
  readonly kind: string;
  readonly id: string;
}

/**
 * Everything known about one event that set a fact. Facts carry only a Stamp and point here, so a
 * host with hundreds of facts set by one import does not repeat its provenance hundreds of times.
 * Entries no fact points to any more are dropped on every fold.
 */
export interface SourceRecord {
  /** `import:<importId>` / `task:<taskId>`; null for a user action such as a delete. */
  readonly sourceId: string | null;
  readonly source: Provenance | null;
  readonly mode: ImportMode | null;
  readonly run: RunInfo | null;
  readonly actor: ActorRef;
  readonly observedAt: string;
}

export type ServiceField =
  | 'name'
  | 'product'
  | 'version'
  | 'extrainfo'
  | 'tunnel'
  | 'ostype'
  | 'devicetype'
  | 'hostname'
  | 'method'
  | 'conf'
  | 'proto'
  | 'rpcnum'
  | 'lowver'
  | 'highver'
  | 'servicefp';

/** Order here is the stored key order. */
export const SERVICE_FIELDS: readonly ServiceField[] = [
  'name',
  'product',
  'version',
  'extrainfo',
  'tunnel',
  'ostype',
  'devicetype',
  'hostname',
  'method',
  'conf',
  'proto',
  'rpcnum',
  'lowver',
  'highver',
  'servicefp',
];

/**
 * Fields whose change is worth a history row. The rest (conf, method, servicefp, …) move with every
 * probe and would drown the history; they are still refreshed and carry provenance.
 */
export const TRACKED_SERVICE_FIELDS: readonly ServiceField[] = ['name', 'product', 'version', 'extrainfo', 'tunnel'];

export type ServiceFacts = { readonly [K in ServiceField]?: Fact<K extends 'conf' ? number : string> };

/**
 * How the current state was reached: named by a report, or inferred because the port was inside a
 * scanned range and not listed. Only the second one is a guess, so classification keeps them apart.
 */
export type StateCause = 'reported' | 'absence';

export interface PortRecord {
  readonly proto: Protocol;
  readonly port: number;
  /** nmap's raw state: open, closed, filtered, open|filtered, closed|filtered, unfiltered, unknown. */
  readonly state: string;
  readonly reason: string | null;
  readonly ttl: number | null;
  readonly cause: StateCause;
  readonly stateSetBy: Stamp;
  readonly service: ServiceFacts;
  readonly cpes: Fact<readonly string[]> | null;
  /** Keyed by script id; a report that lacks a script says nothing about it, so scripts merge. */
  readonly scripts: Readonly<Record<string, Fact<NmapScript>>>;
  readonly firstSeen: string;
  /** Last time any report listed this port, whatever it said and whether or not it was applied. */
  readonly lastSeen: string;
}

export interface HostnameRecord {
  readonly name: string;
  /** nmap hostname types seen for this name (user, PTR); empty when the report gave none. */
  readonly types: readonly string[];
  readonly addedBy: Stamp;
  readonly lastSeen: string;
}

export interface AddressRecord {
  readonly addr: string;
  readonly addrtype: 'ipv4' | 'ipv6' | 'mac';
  readonly vendor: string | null;
  readonly setBy: Stamp;
}

/**
 * Ports of one protocol whose latest scan was this event. Older records lose the ranges a newer
 * scan covered, so each port is covered by at most one record and the list stays bounded.
 */
export interface CoverageRecord {
  readonly proto: Protocol;
  readonly ranges: readonly PortRange[];
  readonly eventId: string;
  readonly sourceId: string;
  readonly observedAt: string;
}

/**
 * Ports a recent import/task already reported for this host. masscan emits one <host> per port, so
 * one import arrives as several observations; this is what stops the second from closing the first.
 */
export interface SourceSeen {
  readonly sourceId: string;
  readonly listed: readonly PortKey[];
  readonly open: readonly PortKey[];
}

export type HostStatus = NonNullable<NmapHost['status']>;
export type HostUptime = NonNullable<NmapHost['uptime']>;
export type HostTrace = NonNullable<NmapHost['trace']>;
export type HostTimes = NonNullable<NmapHost['times']>;
export interface ScanTime {
  readonly start?: number;
  readonly end?: number;
}

export interface HostState {
  readonly schema: 1;
  readonly ip: string;
  readonly deleted: boolean;
  readonly deletedBy: Stamp | null;
  readonly appearedBy: Stamp;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly lastSourceId: string;
  readonly status: Fact<HostStatus> | null;
  readonly addresses: readonly AddressRecord[];
  readonly hostnames: Readonly<Record<string, HostnameRecord>>;
  readonly ports: Readonly<Record<PortKey, PortRecord>>;
  readonly hostScripts: Readonly<Record<string, Fact<NmapScript>>>;
  readonly os: Fact<NmapOs> | null;
  readonly uptime: Fact<HostUptime> | null;
  readonly distance: Fact<number> | null;
  readonly trace: Fact<HostTrace> | null;
  readonly times: Fact<HostTimes> | null;
  readonly scanTime: Fact<ScanTime> | null;
  readonly extraPorts: Fact<readonly NmapExtraPorts[]> | null;
  readonly coverage: readonly CoverageRecord[];
  /** Most recent first, at most MAX_RECENT_SOURCES. */
  readonly recentSources: readonly SourceSeen[];
  readonly sources: Readonly<Record<string, SourceRecord>>;
}

/**
 * Interleaving deeper than this (another import touching the same IP between two <host> elements of
 * one masscan import, eight times over) is not a realistic case; the cap keeps the JSONB small.
 */
export const MAX_RECENT_SOURCES = 8;

export type ChangeField =
  | 'host'
  | 'state'
  | 'hostname'
  | 'service.name'
  | 'service.product'
  | 'service.version'
  | 'service.extrainfo'
  | 'service.tunnel'
  | 'cpes'
  | 'script';

export type ChangeValue = string | readonly string[] | null;

/** One history row: a single field of a host or port going from `old` to `new`. */
export interface Change {
  readonly ip: string;
  readonly proto?: Protocol;
  readonly port?: number;
  readonly field: ChangeField;
  /** Script id for `script` rows; absent otherwise. */
  readonly key?: string;
  readonly old: ChangeValue;
  readonly new: ChangeValue;
  /** Why the ledger applied it, in words. */
  readonly rule: string;
  readonly eventId: string;
  readonly observedAt: string;
  readonly source: Provenance | null;
  readonly mode: ImportMode | null;
  readonly actor: ActorRef;
  readonly run: RunInfo | null;
  /** false when the observation had trackHistory off: counted, but not to be stored. */
  readonly recorded: boolean;
}

export type FoldOutcome = 'created' | 'updated' | 'unchanged' | 'skipped';

export interface FoldMeta {
  readonly eventId: string;
  readonly occurredAt: string;
  readonly actor: ActorRef;
}

export interface FoldResult {
  readonly state: HostState;
  readonly changes: readonly Change[];
  readonly outcome: FoldOutcome;
  readonly portsOpened: number;
  readonly portsClosed: number;
}
