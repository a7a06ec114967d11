import { formatIPv6, parseIPv6 } from '../scanning/ip.js';

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

/**
 * RFC 5952 text form (the scanning side's spelling, so a report's host and a scan target meet on
 * one key). An embedded IPv4 tail is re-spelled in hex, as the WHATWG URL serializer does. A zone
 * ("%eth0") is kept verbatim: nmap reports link-local hosts with it.
 */
export function normalizeIpv6(s: string): string | undefined {
  if (s.length < 2 || s.length > 100) return undefined;
  const pct = s.indexOf('%');
  const zone = pct >= 0 ? s.slice(pct) : '';
  if (pct >= 0 && zone.length < 2) return undefined;
  const v = parseIPv6(pct >= 0 ? s.slice(0, pct) : s);
  return v === null ? undefined : formatIPv6(v) + zone;
}

/** Normalises by declared type; undefined means "not a valid address of that type". */
export function normalizeIp(addr: string, addrtype: 'ipv4' | 'ipv6'): string | undefined {
  return addrtype === 'ipv4' ? normalizeIpv4(addr) : normalizeIpv6(addr);
}
