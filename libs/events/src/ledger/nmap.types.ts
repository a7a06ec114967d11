// Everything nmap (or masscan's nmap-compatible XML) says about a run and its hosts, as plain data.
// These shapes travel inside events, so they are part of the wire contract: add optional fields only.

export type Protocol = 'tcp' | 'udp' | 'sctp' | 'ip';

/** A script's structured output: nmap's <elem key=..>value</elem> and nested <table key=..>. */
export type ScriptNode =
  | { readonly kind: 'elem'; readonly key?: string; readonly value: string }
  | { readonly kind: 'table'; readonly key?: string; readonly children: readonly ScriptNode[] };

export interface NmapScript {
  readonly id: string;
  readonly output: string;
  readonly nodes: readonly ScriptNode[];
}

export interface NmapService {
  readonly name?: string;
  readonly product?: string;
  readonly version?: string;
  readonly extrainfo?: string;
  readonly ostype?: string;
  readonly method?: string;
  readonly conf?: number;
  readonly tunnel?: string;
  readonly proto?: string;
  readonly rpcnum?: string;
  readonly lowver?: string;
  readonly highver?: string;
  readonly hostname?: string;
  readonly devicetype?: string;
  readonly servicefp?: string;
  readonly cpes: readonly string[];
  /** masscan --banners puts the grabbed banner here (nmap never sets it). */
  readonly banner?: string;
}

export interface NmapPortState {
  readonly state: string; // open, closed, filtered, open|filtered, closed|filtered, unfiltered, unknown
  readonly reason?: string;
  readonly reasonTtl?: number;
  readonly reasonIp?: string;
}

export interface NmapPort {
  readonly protocol: Protocol;
  readonly port: number;
  readonly state: NmapPortState;
  readonly service?: NmapService;
  readonly scripts: readonly NmapScript[];
  /** ident (-I / auth) owner of the listening process. */
  readonly owner?: string;
}

/**
 * A port whose protocol is outside Protocol, e.g. masscan's `<port protocol="icmp" portid="0">`
 * (an echo reply). Kept apart so that Protocol-keyed logic (coverage, port keys) never sees it.
 */
export interface NmapOtherPort extends Omit<NmapPort, 'protocol'> {
  readonly protocol: string;
}

export interface NmapAddress {
  readonly addr: string;
  readonly addrtype: 'ipv4' | 'ipv6' | 'mac';
  readonly vendor?: string;
}

export interface NmapHostname {
  readonly name: string;
  readonly type?: string; // user, PTR, ...
}

export interface NmapOsClass {
  readonly type?: string;
  readonly vendor?: string;
  readonly osfamily?: string;
  readonly osgen?: string;
  readonly accuracy?: number;
  readonly cpes: readonly string[];
}

export interface NmapOsMatch {
  readonly name: string;
  readonly accuracy?: number;
  readonly line?: number;
  readonly classes: readonly NmapOsClass[];
}

export interface NmapOs {
  readonly matches: readonly NmapOsMatch[];
  readonly portsUsed: readonly { readonly state: string; readonly proto: string; readonly portid: number }[];
  readonly fingerprint?: string;
  /** nmap < 4.60 (and --deprecated-xml-osclass) writes <osclass> directly under <os>, not inside an <osmatch>. */
  readonly classes?: readonly NmapOsClass[];
}

export interface NmapTraceHop {
  readonly ttl: number;
  readonly ipaddr?: string;
  readonly rtt?: number;
  readonly host?: string;
}

export interface NmapExtraReason {
  readonly reason: string;
  readonly count: number;
  readonly proto?: string;
  /** nmap >= 7.90 lists the exact ports, e.g. "1-21,23-79"; this is what lets a fold close ports it did not list. */
  readonly ports?: string;
}

export interface NmapExtraPorts {
  readonly state: string;
  readonly count: number;
  readonly protocol?: Protocol;
  readonly reasons?: readonly NmapExtraReason[];
}

export interface NmapHost {
  /** The primary address: the first ipv4/ipv6 address of the host element (normalised). */
  readonly ip: string;
  readonly addresses: readonly NmapAddress[];
  readonly status?: { readonly state: string; readonly reason?: string; readonly reasonTtl?: number };
  readonly hostnames: readonly NmapHostname[];
  readonly ports: readonly NmapPort[];
  readonly extraPorts: readonly NmapExtraPorts[];
  readonly hostScripts: readonly NmapScript[];
  readonly os?: NmapOs;
  readonly uptime?: { readonly seconds: number; readonly lastboot?: string };
  readonly distance?: number;
  readonly trace?: { readonly port?: number; readonly proto?: string; readonly hops: readonly NmapTraceHop[] };
  readonly times?: { readonly srtt?: number; readonly rttvar?: number; readonly to?: number };
  readonly startTime?: number; // unix seconds
  readonly endTime?: number;
  /** Ports whose protocol nmap.types cannot key (masscan icmp); see NmapOtherPort. */
  readonly otherPorts?: readonly NmapOtherPort[];
  readonly comment?: string;
  readonly tcpSequence?: { readonly index?: number; readonly difficulty?: string; readonly values?: string };
  readonly ipIdSequence?: { readonly class?: string; readonly values?: string };
  readonly tcpTsSequence?: { readonly class?: string; readonly values?: string };
}

export interface NmapScanInfo {
  readonly type?: string;
  readonly protocol: string;
  readonly numservices?: number;
  readonly services?: string;
  readonly scanflags?: string;
}

export interface NmapRunMeta {
  readonly scanner: string; // nmap | masscan
  readonly args?: string;
  readonly version?: string;
  readonly xmlOutputVersion?: string;
  readonly start?: number; // unix seconds
  readonly scanInfo: readonly NmapScanInfo[];
  readonly runStats?: {
    readonly finishedTime?: number;
    readonly elapsed?: number;
    readonly summary?: string;
    readonly exit?: string;
    readonly errormsg?: string;
    readonly hostsUp?: number;
    readonly hostsDown?: number;
    readonly hostsTotal?: number;
  };
  readonly preScripts: readonly NmapScript[];
  readonly postScripts: readonly NmapScript[];
}

/** Inclusive port ranges per protocol that a run covered; absent protocol = unknown coverage. */
export type PortRange = readonly [number, number];
export type Coverage = Partial<Record<Protocol, readonly PortRange[]>>;
