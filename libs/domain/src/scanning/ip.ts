// IP literals as numbers: IPv4 as an unsigned 32-bit integer held in a JS number (exact up to 2^53),
// IPv6 as a bigint. Strings only appear at the edges, so dedup and scope checks are arithmetic.

export type IpFamily = 4 | 6;

export type ParsedIp = { readonly family: 4; readonly value: number } | { readonly family: 6; readonly value: bigint };

export const IPV4_MAX = 0xffff_ffff;
export const IPV6_MAX = (1n << 128n) - 1n;

// ::ffff:0:0/96. nmap -6 (and a dual-stack connect()) would reach the embedded IPv4 host, which the
// IPv4 scope lists would never see, so targets in this block are refused rather than guessed at.
export const IPV4_MAPPED_FIRST = 0xffffn << 32n;
export const IPV4_MAPPED_LAST = IPV4_MAPPED_FIRST + 0xffff_ffffn;

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Strict dotted quad. Leading zeros are refused because inet_aton (and so some tools) read
 * "010" as octal 8: the address we check would not be the address scanned.
 */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    const o = Number(p);
    if (o > 255) return null;
    n = n * 256 + o;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function parseHextets(part: string): number[] | null {
  if (part === '') return [];
  const out: number[] = [];
  const groups = part.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (v4 === null) return null;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
    } else if (HEXTET.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return null;
    }
  }
  return out;
}

/** RFC 4291 text forms, including "::" and a trailing dotted quad. Zone ids ("%eth0") are not addresses. */
export function parseIPv6(s: string): bigint | null {
  if (s.length < 2 || s.length > 45) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = parseHextets(halves[0]);
  if (head === null) return null;
  // A dotted quad may only end the address, so it is refused in the head when "::" follows.
  if (halves.length === 2 && halves[0].includes('.')) return null;
  let groups: number[];
  if (halves.length === 2) {
    const tail = parseHextets(halves[1]);
    if (tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    groups = head;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** RFC 5952 canonical text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
export function formatIPv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function parseIp(s: string): ParsedIp | null {
  if (s.includes(':')) {
    const v = parseIPv6(s);
    return v === null ? null : { family: 6, value: v };
  }
  const v = parseIPv4(s);
  return v === null ? null : { family: 4, value: v };
}

export function formatIp(ip: ParsedIp): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}

/** The canonical text of an IP literal, or null when `s` is not one. */
export function normalizeIp(s: string): string | null {
  const ip = parseIp(s);
  return ip === null ? null : formatIp(ip);
}

export function isIPv4Mapped(v: bigint): boolean {
  return v >= IPV4_MAPPED_FIRST && v <= IPV4_MAPPED_LAST;
}

export interface Cidr {
  readonly family: IpFamily;
  readonly prefix: number;
  /** The network address (host bits cleared) and the last address, inclusive. */
  readonly first: number | bigint;
  readonly last: number | bigint;
}

export type CidrParse = { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly message: string };

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/** "a.b.c.d/n" or "v6/n". Host bits may be set ("10.0.0.5/24"); the result is the enclosing network. */
export function parseCidr(s: string): CidrParse {
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return { ok: false, message: `${s} is not a CIDR` };
  const ip = parseIp(s.slice(0, slash));
  if (ip === null) return { ok: false, message: `${s.slice(0, slash)} is not an IP address` };
  const prefixText = s.slice(slash + 1);
  const maxPrefix = ip.family === 4 ? 32 : 128;
  if (!PREFIX.test(prefixText) || Number(prefixText) > maxPrefix) {
    return { ok: false, message: `prefix length must be 0..${maxPrefix}, got "${prefixText}"` };
  }
  const prefix = Number(prefixText);
  if (ip.family === 4) {
    const size = 2 ** (32 - prefix);
    const first = ip.value - (ip.value % size);
    return { ok: true, cidr: { family: 4, prefix, first, last: first + size - 1 } };
  }
  const hostBits = BigInt(128 - prefix);
  const first = (ip.value >> hostBits) << hostBits;
  return { ok: true, cidr: { family: 6, prefix, first, last: first + (1n << hostBits) - 1n } };
}

export function formatCidr(c: Pick<Cidr, 'family' | 'prefix' | 'first'>): string {
  const addr = c.family === 4 ? formatIPv4(c.first as number) : formatIPv6(c.first as bigint);
  return `${addr}/${c.prefix}`;
}

export type RangeParse =
  | { readonly ok: true; readonly family: IpFamily; readonly first: number | bigint; readonly last: number | bigint }
  | { readonly ok: false; readonly code: 'invalid_range' | 'reversed_range'; readonly message: string };

/**
 * "10.0.0.1-10.0.0.20", the last-octet shorthand "10.0.0.1-20", or a full IPv6 pair. No IPv6
 * shorthand: "2001:db8::1-ff" could mean the last group or the last hex digits.
 */
export function parseIpRange(s: string): RangeParse {
  const dash = s.indexOf('-');
  if (dash < 0 || dash !== s.lastIndexOf('-')) return { ok: false, code: 'invalid_range', message: `${s} is not a range` };
  const left = parseIp(s.slice(0, dash));
  const rightText = s.slice(dash + 1);
  if (left === null) return { ok: false, code: 'invalid_range', message: `${s.slice(0, dash)} is not an IP address` };
  let right: ParsedIp | null;
  if (left.family === 4 && OCTET.test(rightText)) {
    const octet = Number(rightText);
    if (octet > 255) return { ok: false, code: 'invalid_range', message: `last octet must be 0..255, got ${rightText}` };
    right = { family: 4, value: left.value - (left.value % 256) + octet };
  } else {
    right = parseIp(rightText);
  }
  if (right === null) return { ok: false, code: 'invalid_range', message: `${rightText} is not an IP address or a last octet` };
  if (right.family !== left.family) return { ok: false, code: 'invalid_range', message: 'a range cannot mix IPv4 and IPv6' };
  if (right.value < left.value) {
    return { ok: false, code: 'reversed_range', message: `range ends (${formatIp(right)}) before it starts (${formatIp(left)})` };
  }
  return { ok: true, family: left.family, first: left.value, last: right.value };
}

/** Whether `s` has the shape of a range rather than of a host name that happens to contain a hyphen. */
export function looksLikeIpRange(s: string): boolean {
  return /^[0-9.]+-[0-9.]+$/.test(s) || (/^[0-9a-fA-F:.]+-[0-9a-fA-F:.]+$/.test(s) && s.includes(':'));
}
