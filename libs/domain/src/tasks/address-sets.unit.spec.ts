import fc from 'fast-check';
import { parseIp } from '../scanning/ip.js';
import { addressesOf, addressesPerTask, blocksOf, countBlocks, intersectSets, rangesToSet, setToRanges, sizeOf, subtractSets, unionSets } from './address-sets.js';

// Small IPv4 sets as lists of [lo, hi] offsets inside 10.0.0.0/22, compared against plain Sets.
const BASE = parseIp('10.0.0.0')!.value as number;
const ip = (n: number) => `10.0.${(n >> 8) & 255}.${n & 255}`;
const arbRanges = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 40 })).map(([lo, len]) => [ip(lo), ip(Math.min(1023, lo + len))] as const),
  { maxLength: 12 },
);
const plain = (ranges: readonly (readonly [string, string])[]) => new Set([...addressesOf(setToRanges(rangesToSet(ranges)))]);

describe('address sets', () => {
  it('subtract, intersect and union agree with plain sets', () =>
    fc.assert(
      fc.property(arbRanges, arbRanges, (a, b) => {
        const A = plain(a);
        const B = plain(b);
        const sa = rangesToSet(a);
        const sb = rangesToSet(b);
        expect(new Set(addressesOf(setToRanges(subtractSets(sa, sb))))).toEqual(new Set([...A].filter((x) => !B.has(x))));
        expect(new Set(addressesOf(setToRanges(intersectSets(sa, sb))))).toEqual(new Set([...A].filter((x) => B.has(x))));
        expect(new Set(addressesOf(setToRanges(unionSets([sa, sb]))))).toEqual(new Set([...A, ...B]));
      }),
    ));

  it('blocks partition the set into aligned windows of at most the block size', () =>
    fc.assert(
      fc.property(arbRanges, fc.constantFrom(1, 2, 4, 16, 64, 256), (a, size) => {
        const set = rangesToSet(a);
        const seen = new Set<string>();
        const windows = new Set<number>();
        for (const block of blocksOf(set, size)) {
          const members = [...addressesOf(block.ranges)];
          expect(members.length).toBe(block.count);
          expect(block.count).toBeLessThanOrEqual(size);
          const w = new Set(members.map((m) => Math.floor(((parseIp(m)!.value as number) - BASE) / size)));
          expect(w.size).toBe(1); // one aligned window per block …
          const [only] = w;
          expect(windows.has(only)).toBe(false); // … and one block per window
          windows.add(only);
          for (const m of members) {
            expect(seen.has(m)).toBe(false);
            seen.add(m);
          }
        }
        expect(seen).toEqual(plain(a));
        expect(countBlocks(set, size)).toBe(windows.size);
      }),
    ));

  it('cuts IPv6 the same way', () => {
    const blocks = [...blocksOf(rangesToSet([['2001:db8::', '2001:db8::1ff']]), 256)];
    expect(blocks.map((b) => [b.family, b.count, b.ranges])).toEqual([
      [6, 256, [['2001:db8::', '2001:db8::ff']]],
      [6, 256, [['2001:db8::100', '2001:db8::1ff']]],
    ]);
  });

  it('keeps one address per task until the task budget, then grows blocks in powers of two up to the cap', () => {
    expect(addressesPerTask(10, 16384, 256)).toBe(1);
    expect(addressesPerTask(16384, 16384, 256)).toBe(1);
    expect(addressesPerTask(16385, 16384, 256)).toBe(2);
    expect(addressesPerTask(1 << 20, 16384, 256)).toBe(64);
    expect(addressesPerTask(1 << 30, 16384, 256)).toBe(256);
  });

  it('counts a /12 without enumerating it', () => {
    expect(sizeOf(rangesToSet([['127.0.0.0', '127.15.255.255']]))).toBe(1 << 20);
  });
});
