import type { Coverage, NmapRunMeta, PortRange, Protocol } from '#events';

// Coverage decides which ports a report may close "by absence" (scanned, not listed => not open).
// Claiming a port that was not scanned would wrongly close it, so every rule here errs towards
// claiming less: anything we cannot resolve exactly (top-ports, service names, brackets,
// unresolvable exclusions) makes that protocol unknown or leaves the item out.

const ALL_PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp', 'ip'];
const MAX_PORT: Record<Protocol, number> = { tcp: 65535, udp: 65535, sctp: 65535, ip: 255 };

/** Sorts and merges overlapping or adjacent inclusive ranges. */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** Removes `minus` from merged `ranges`. Both must be merged (see mergeRanges). */
export function subtractRanges(ranges: readonly PortRange[], minus: readonly PortRange[]): PortRange[] {
  let cur: PortRange[] = [...ranges];
  for (const [mlo, mhi] of minus) {
    const next: PortRange[] = [];
    for (const [lo, hi] of cur) {
      if (mhi < lo || mlo > hi) {
        next.push([lo, hi]);
        continue;
      }
      if (lo < mlo) next.push([lo, mlo - 1]);
      if (hi > mhi) next.push([mhi + 1, hi]);
    }
    cur = next;
  }
  return cur;
}

/**
 * Parses a plain numeric list as nmap writes it in <scaninfo services="1-1000,1433">. Tokens that
 * are not numbers or ranges are dropped (never guessed); returns undefined when nothing parses.
 */
export function parseServices(services: string, max = 65535): PortRange[] | undefined {
  const out: PortRange[] = [];
  for (const raw of services.split(',')) {
    const t = raw.trim();
    if (t === '') continue;
    const r = numericRange(t, max);
    if (r !== undefined) out.push(r);
  }
  return out.length === 0 ? undefined : mergeRanges(out);
}

/** "22", "1-1000", "-1000", "60000-", "-" in nmap's -p syntax; undefined for names, wildcards, brackets. */
function numericRange(t: string, max: number): PortRange | undefined {
  const m = /^(\d{1,5})?(-)?(\d{1,5})?$/.exec(t);
  if (m === null) return undefined;
  const [, a, dash, b] = m;
  if (dash === undefined) {
    if (a === undefined) return undefined;
    const p = Number(a);
    return p <= max ? [p, p] : undefined;
  }
  // nmap: an omitted start means 1 (port 0 only when written explicitly), an omitted end means the maximum.
  const lo = a === undefined ? 1 : Number(a);
  const hi = b === undefined ? max : Number(b);
  if (lo > hi || hi > max) return undefined;
  return [lo, hi];
}

type ProtoKey = Protocol | 'any';
const PREFIX: Record<string, Protocol> = { T: 'tcp', U: 'udp', S: 'sctp', P: 'ip' };

interface PortSpec {
  /** ranges per protocol ('any' = no T:/U:/S:/P: qualifier) */
  readonly ranges: Record<ProtoKey, PortRange[]>;
  /** a qualifier (or 'any') had an item we cannot resolve: names, wildcards, [brackets] */
  readonly unresolved: Set<ProtoKey>;
}

/** Parses nmap's -p / --exclude-ports syntax: "22,80", "T:22,U:53", "1-1000", "-", "U:53,T:1-100,http". */
export function parsePortSpec(spec: string): PortSpec {
  const ranges: Record<ProtoKey, PortRange[]> = { any: [], tcp: [], udp: [], sctp: [], ip: [] };
  const unresolved = new Set<ProtoKey>();
  let current: ProtoKey = 'any';
  for (const raw of spec.split(',')) {
    let t = raw.trim();
    const q = /^([TUSP]):(.*)$/.exec(t);
    if (q !== null) {
      current = PREFIX[q[1]];
      t = q[2];
    }
    if (t === '') continue;
    const r = numericRange(t, 65535);
    if (r === undefined) unresolved.add(current);
    else ranges[current].push(r);
  }
  return { ranges, unresolved };
}

// getopt_long_only options that take a separate argument, which must be skipped so a value such
// as a file name is never read as an option. Underscore spellings are accepted by older nmaps.
const LONG_WITH_ARG = new Set(
  [
    'datadir', 'servicedb', 'versiondb', 'max-os-tries', 'max-parallelism', 'min-parallelism', 'timing',
    'max-rtt-timeout', 'min-rtt-timeout', 'initial-rtt-timeout', 'excludefile', 'exclude', 'max-hostgroup',
    'min-hostgroup', 'scanflags', 'host-timeout', 'scan-delay', 'max-scan-delay', 'max-retries', 'oA', 'oN',
    'oM', 'oG', 'oS', 'oH', 'oX', 'iL', 'iR', 'sI', 'source-port', 'nsock-engine', 'proxies', 'proxy', 'data',
    'data-string', 'data-length', 'stylesheet', 'mtu', 'spoof-mac', 'ttl', 'version-intensity', 'dns-servers',
    'port-ratio', 'exclude-ports', 'top-ports', 'script', 'script-args', 'script-args-file', 'script-help',
    'script-timeout', 'ip-options', 'min-rate', 'max-rate', 'stats-every', 'route-dst', 'resume', 'debug',
  ].flatMap((n) => [n, n.replace(/-/g, '_')]),
);
const LONG_NO_ARG = new Set(
  [
    'version', 'verbose', 'help', 'iflist', 'release-memory', 'nogcc', 'open', 'defeat-rst-ratelimit',
    'defeat-icmp-ratelimit', 'randomize-hosts', 'discovery-ignore-rst', 'osscan-limit', 'osscan-guess', 'fuzzy',
    'packet-trace', 'version-trace', 'send-eth', 'send-ip', 'no-stylesheet', 'webxml', 'rH', 'vv', 'ff',
    'privileged', 'unprivileged', 'append-output', 'noninteractive', 'thc', 'badsum', 'traceroute', 'reason',
    'allports', 'version-light', 'version-all', 'system-dns', 'resolve-all', 'unique', 'log-errors',
    'deprecated-xml-osclass', 'script-trace', 'script-updatedb', 'adler32', 'disable-arp-ping',
  ].flatMap((n) => [n, n.replace(/-/g, '_')]),
);
const LONG_ALL = [...LONG_WITH_ARG, ...LONG_NO_ARG];
// nmap's short optstring "46Ab:D:d::e:Ffg:hIi:M:m:nO::o:P::p:qRrS:s::T:Vv::"
const SHORT_WITH_ARG = new Set(['b', 'D', 'e', 'g', 'i', 'M', 'm', 'o', 'p', 'S', 'T']);

/** Splits a command line the way a shell would for the common cases: "double", 'single', \-escapes. */
export function tokenizeArgs(args: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      // Windows paths ("C:\Program Files\...") keep their backslashes; only \" and \\ escape.
      else if (c === '\\' && quote === '"' && (args[i + 1] === '"' || args[i + 1] === '\\')) cur += args[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else if (c === '\\' && i + 1 < args.length && /[\s"'\\]/.test(args[i + 1])) {
      cur += args[++i];
      has = true;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

interface ParsedArgs {
  readonly portSpecs: string[];
  readonly excludeSpecs: string[];
  /** --top-ports, -F, --port-ratio, --servicedb: port set comes from nmap-services, unknowable here */
  readonly fromServicesFile: boolean;
  readonly scanTypes: Set<string>;
}

const resolveLong = (name: string): string | undefined => {
  if (LONG_WITH_ARG.has(name) || LONG_NO_ARG.has(name)) return name;
  const hits = LONG_ALL.filter((n) => n.startsWith(name));
  const distinct = new Set(hits.map((h) => h.replace(/_/g, '-')));
  return distinct.size === 1 ? hits[0] : undefined;
};

/** Reads the options that decide port coverage, following getopt_long_only as nmap uses it. */
export function parseNmapArgs(args: string): ParsedArgs {
  const tokens = tokenizeArgs(args);
  const res = { portSpecs: [] as string[], excludeSpecs: [] as string[], fromServicesFile: false, scanTypes: new Set<string>() };
  const onLong = (name: string, value: string | undefined) => {
    const n = name.replace(/_/g, '-');
    if (n === 'exclude-ports' && value !== undefined) res.excludeSpecs.push(value);
    else if (n === 'top-ports' || n === 'port-ratio' || n === 'servicedb') res.fromServicesFile = true;
    else if (n === 'scanflags') res.scanTypes.add('S');
    else if (n === 'sI') res.scanTypes.add('I');
  };
  // tokens[0] is the program ("nmap", "/usr/bin/nmap", "C:\...\nmap.exe")
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '--') break;
    if (t.length < 2 || t[0] !== '-') continue;
    const body = t.startsWith('--') ? t.slice(2) : t.slice(1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    // getopt_long_only tries long options first, except for a lone short option letter.
    const long = t.startsWith('--') || body.length > 1 ? resolveLong(name) : undefined;
    if (long !== undefined) {
      let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
      if (value === undefined && LONG_WITH_ARG.has(long) && long !== 'debug') value = tokens[++i];
      onLong(long, value);
      continue;
    }
    if (t.startsWith('--')) continue;
    // short option cluster: "-sSU", "-p22", "-Pn", "-T4", "-vv", "-F"
    for (let k = 1; k < t.length; k++) {
      const o = t[k];
      if (SHORT_WITH_ARG.has(o)) {
        const attached = t.slice(k + 1);
        const value = attached !== '' ? attached : tokens[++i];
        if (o === 'p' && value !== undefined) res.portSpecs.push(value);
        break;
      }
      if (o === 's') {
        for (const letter of t.slice(k + 1)) res.scanTypes.add(letter);
        break;
      }
      if (o === 'd' || o === 'O' || o === 'P' || o === 'v') break; // optional argument, attached only
      if (o === 'F') res.fromServicesFile = true;
    }
  }
  return res;
}

/** Which protocols a set of -s scan letters scans; empty when no port scan ran (-sn, -sL, -sP). */
function scannedProtocols(types: Set<string>): Set<Protocol> {
  const out = new Set<Protocol>();
  for (const t of types) {
    if ('STAWMNFXIB'.includes(t)) out.add('tcp');
    else if (t === 'U') out.add('udp');
    else if (t === 'Y' || t === 'Z') out.add('sctp');
    else if (t === 'O') out.add('ip');
  }
  const noPortScan = types.has('n') || types.has('L') || types.has('P');
  if (out.size === 0 && !noPortScan) out.add('tcp'); // nmap's default is a TCP SYN/connect scan
  return out;
}

/** Coverage from the command line alone, for reports whose <scaninfo> lacks services. */
export function coverageFromNmapArgs(args: string): Coverage {
  const parsed = parseNmapArgs(args);
  const protocols = scannedProtocols(parsed.scanTypes);
  if (parsed.fromServicesFile || parsed.portSpecs.length === 0 || protocols.size === 0) return {};
  const include = parsed.portSpecs.map(parsePortSpec);
  const exclude = parsed.excludeSpecs.map(parsePortSpec);
  const out: Partial<Record<Protocol, PortRange[]>> = {};
  for (const proto of protocols) {
    const max = MAX_PORT[proto];
    const clip = (rs: PortRange[]) => rs.filter(([lo]) => lo <= max).map(([lo, hi]): PortRange => [lo, Math.min(hi, max)]);
    const inc = include.flatMap((s) => [...s.ranges.any, ...s.ranges[proto]]);
    if (inc.length === 0) continue;
    if (exclude.some((s) => s.unresolved.has('any') || s.unresolved.has(proto))) continue;
    const exc = mergeRanges(exclude.flatMap((s) => [...s.ranges.any, ...s.ranges[proto]]));
    const ranges = subtractRanges(mergeRanges(clip(inc)), exc);
    if (ranges.length !== 0) out[proto] = ranges;
  }
  return out;
}

/**
 * Port ranges per protocol that the run scanned. <scaninfo services=...> is authoritative (nmap
 * writes the exact resolved list there, top-ports included); the args are only a fallback. A
 * protocol absent from the result is unknown coverage: nothing may be closed by absence there.
 */
export function inferCoverage(meta: NmapRunMeta): Coverage {
  const fromScanInfo: Partial<Record<Protocol, PortRange[]>> = {};
  let any = false;
  for (const si of meta.scanInfo) {
    const proto = ALL_PROTOCOLS.find((p) => p === si.protocol);
    if (proto === undefined || si.services === undefined) continue;
    const ranges = parseServices(si.services, MAX_PORT[proto]);
    if (ranges === undefined) continue;
    fromScanInfo[proto] = mergeRanges([...(fromScanInfo[proto] ?? []), ...ranges]);
    any = true;
  }
  if (any) return fromScanInfo;
  return meta.args === undefined ? {} : coverageFromNmapArgs(meta.args);
}

/** True when `port` of `proto` lies in `coverage`. Expects merged ranges, as inferCoverage returns. */
export function portInCoverage(coverage: Coverage, proto: Protocol, port: number): boolean {
  const ranges = coverage[proto];
  if (ranges === undefined) return false;
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid];
    if (port < a) hi = mid - 1;
    else if (port > b) lo = mid + 1;
    else return true;
  }
  return false;
}
