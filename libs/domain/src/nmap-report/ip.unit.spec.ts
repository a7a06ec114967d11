import fc from 'fast-check';
import { normalizeIpv4, normalizeIpv6 } from './ip.js';

// The WHATWG URL host serializer implements the same RFC 5952 compression, so it is an
// independent oracle for addresses without a zone.
const viaUrl = (a: string): string => new URL(`http://[${a}]/`).hostname.slice(1, -1);

describe('normalizeIpv6', () => {
  it.each([
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['FE80:0:0:0:0:0:0:1%En0', 'fe80::1%En0'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeIpv6(input)).toBe(expected);
  });

  it.each(['', ':', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::1', 'g::1', '::1.2.3', '1.2.3.4::', 'fe80::1%', '1:2:3:4:5:6:7:8::'])(
    'refuses %j',
    (input) => {
      expect(normalizeIpv6(input)).toBeUndefined();
    },
  );

  it('agrees with the URL serializer on random addresses in any spelling', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), fc.boolean(), (groups, upper, pad) => {
        let text = groups.map((g) => (pad ? g.toString(16).padStart(4, '0') : g.toString(16))).join(':');
        if (upper) text = text.toUpperCase();
        expect(normalizeIpv6(text)).toBe(viaUrl(text));
        const canonical = viaUrl(text);
        expect(normalizeIpv6(canonical)).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the URL serializer when zeros cluster into runs', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const text = groups.map((g) => g.toString(16)).join(':');
        expect(normalizeIpv6(text)).toBe(viaUrl(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('normalizeIpv4', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['010.001.000.009', '10.1.0.9'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeIpv4(input)).toBe(expected);
  });

  it.each(['', 'IP', 'x.x.x.x', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.4 ', '1..3.4', '1.2.3.0004', '::1', '-1.2.3.4'])('refuses %j', (input) => {
    expect(normalizeIpv4(input)).toBeUndefined();
  });
});
