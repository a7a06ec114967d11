import { formatCidr, formatIPv4, formatIPv6, normalizeIp, parseCidr, parseIPv4, parseIPv6, parseIpRange } from './ip.js';
import { normalizeHostname } from './hostname.js';

describe('IPv4 literals', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
  ])('parses %s', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
    expect(formatIPv4(value)).toBe(text);
  });

  it.each(['256.1.1.1', '1.2.3', '1.2.3.4.5', '010.0.0.1', '1.2.3.-1', '1..2.3', '', '1.2.3.4 ', '0x1.2.3.4'])('refuses %j', (text) => {
    expect(parseIPv4(text)).toBeNull();
  });
});

describe('IPv6 literals', () => {
  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    // the leftmost of two equal zero runs is the one compressed
    ['2001:0:0:1:0:0:1:1', '2001::1:0:0:1:1'],
    // a single zero group is not compressed (RFC 5952 4.2.2)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['fe80::1:2', 'fe80::1:2'],
  ])('normalises %s to %s', (text, canonical) => {
    expect(normalizeIp(text)).toBe(canonical);
  });

  it.each(['2001:db8::1::1', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'fe80::1%eth0', '::g', '1.2.3.4::', '1:2:3:4:5:6:7::8'])(
    'refuses %j',
    (text) => {
      expect(parseIPv6(text)).toBeNull();
    },
  );

  it('formats the full range of values', () => {
    expect(formatIPv6((1n << 128n) - 1n)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });
});

describe('CIDRs', () => {
  it('clears host bits and reports the span', () => {
    const c = parseCidr('10.1.2.3/16');
    expect(c).toEqual({ ok: true, cidr: { family: 4, prefix: 16, first: 0x0a010000, last: 0x0a01ffff } });
    if (c.ok) expect(formatCidr(c.cidr)).toBe('10.1.0.0/16');
  });
  it('handles IPv6', () => {
    const c = parseCidr('2001:DB8::/126');
    expect(c.ok && formatCidr(c.cidr)).toBe('2001:db8::/126');
    expect(c.ok && (c.cidr.last as bigint) - (c.cidr.first as bigint)).toBe(3n);
  });
  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '::/129', '10.0.0/8', '10.0.0.0/8/8'])('refuses %s', (text) => {
    expect(parseCidr(text).ok).toBe(false);
  });
});

describe('ranges', () => {
  it('accepts the full and the last-octet forms', () => {
    expect(parseIpRange('10.0.0.1-10.0.0.20')).toEqual({ ok: true, family: 4, first: 0x0a000001, last: 0x0a000014 });
    expect(parseIpRange('10.0.0.1-20')).toEqual({ ok: true, family: 4, first: 0x0a000001, last: 0x0a000014 });
    expect(parseIpRange('2001:db8::1-2001:db8::ff')).toMatchObject({ ok: true, family: 6, first: 0x20010db8n << 96n | 1n });
  });
  it.each([
    ['10.0.0.20-10.0.0.1', 'reversed_range'],
    ['10.0.0.20-1', 'reversed_range'],
    ['10.0.0.1-256', 'invalid_range'],
    ['10.0.0.1-::1', 'invalid_range'],
    ['2001:db8::1-ff', 'invalid_range'],
  ])('refuses %s as %s', (text, code) => {
    expect(parseIpRange(text)).toMatchObject({ ok: false, code });
  });
});

describe('host names', () => {
  it('lower-cases and drops the trailing dot', () => {
    expect(normalizeHostname('WWW.Example.COM.')).toEqual({ ok: true, name: 'www.example.com' });
    expect(normalizeHostname('xn--bcher-kva.example')).toEqual({ ok: true, name: 'xn--bcher-kva.example' });
    expect(normalizeHostname('localhost')).toEqual({ ok: true, name: 'localhost' });
  });
  it.each([
    ['-a.example.com', /label/],
    ['a-.example.com', /label/],
    ['a_b.example.com', /label/],
    ['a..example.com', /empty label/],
    [`${'a'.repeat(64)}.com`, /longer than 63/],
    [`${'a.'.repeat(127)}com`, /253/],
    ['1.2.3.999', /numeric top-level/],
    ['bücher.example', /punycode/],
  ])('refuses %s', (text, message) => {
    const r = normalizeHostname(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });
  it('accepts exactly 253 characters', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(name).toHaveLength(253);
    expect(normalizeHostname(name).ok).toBe(true);
  });
});
