// IP addresses become ledger keys, so one host must have exactly one spelling: "2001:DB8:0::1" and
// "2001:db8::1" from two scanners have to fold into the same asset.

/** Canonical dotted quad (no leading zeros), or undefined when `s` is not an IPv4 address. */
export function normalizeIpv4(s: string): string | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let octets = 0;
  let value = 0;
  let digits = 0;
  let canonical = true;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46; /* '.' closes the last octet */
    if (c === 46) {
      if (digits === 0 || value > 255) return undefined;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) canonical = false;
      value = value * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  if (octets !== 4) return undefined;
  return canonical ? s : s.split('.').map((o) => String(Number(o))).join('.');
}

const hexValue = (s: string): number => {
  if (s.length === 0 || s.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
};

/** Parses one side of a "::" split into 16-bit groups, allowing a dotted IPv4 tail when `tailAllowed`. */
const parseGroups = (part: string, tailAllowed: boolean, out: number[]): boolean => {
  if (part === '') return true;
  const items = part.split(':');
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (tailAllowed && i === items.length - 1 && item.includes('.')) {
      const v4 = normalizeIpv4(item);
      if (v4 === undefined) return false;
      const o = v4.split('.').map(Number);
      out.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      continue;
    }
    const v = hexValue(item);
    if (v < 0) return false;
    out.push(v);
  }
  return true;
};

/**
 * RFC 5952 text form: lower-case, no leading zeros, the first longest run (>= 2) of zero groups
 * as "::". An embedded IPv4 tail is re-spelled in hex, as the WHATWG URL serializer does, so that
 * the mapped and hex spellings of one address agree. A zone ("%eth0") is kept verbatim.
 */
export function normalizeIpv6(s: string): string | undefined {
  if (s.length < 2 || s.length > 100) return undefined;
  let zone = '';
  const pct = s.indexOf('%');
  if (pct >= 0) {
    zone = s.slice(pct);
    if (zone.length < 2) return undefined;
    s = s.slice(0, pct);
  }
  const groups: number[] = [];
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return undefined;
    const head: number[] = [];
    const tail: number[] = [];
    if (!parseGroups(s.slice(0, dbl), false, head) || !parseGroups(s.slice(dbl + 2), true, tail)) return undefined;
    if (head.length + tail.length > 7) return undefined;
    groups.push(...head);
    for (let i = head.length + tail.length; i < 8; i++) groups.push(0);
    groups.push(...tail);
  } else {
    if (!parseGroups(s, true, groups) || groups.length !== 8) return undefined;
  }
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
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  const text = bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
  return text + zone;
}

/** Normalises by declared type; undefined means "not a valid address of that type". */
export function normalizeIp(addr: string, addrtype: 'ipv4' | 'ipv6'): string | undefined {
  return addrtype === 'ipv4' ? normalizeIpv4(addr) : normalizeIpv6(addr);
}
