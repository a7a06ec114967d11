import fc from 'fast-check';
import { countRangePorts, formatRangeList, intersectRanges, normaliseRanges, parseRangeList, subtractRanges, unionRanges } from './port-ranges.js';

type R = [number, number];
const ports = (rs: readonly (readonly [number, number])[]) => new Set(rs.flatMap(([lo, hi]) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)));
const arb = fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 })).map(([lo, w]): R => [lo, lo + w]), { maxLength: 12 }).map(normaliseRanges);

describe('port range arithmetic', () => {
  it('given overlapping and adjacent ranges, when unioned, then they merge into sorted disjoint ranges', () =>
    expect(unionRanges([[1, 1000], [2000, 2000]], [[1001, 1500], [8080, 8080], [1999, 1999]])).toEqual([[1, 1500], [1999, 2000], [8080, 8080]]));

  it('given two lists, when intersected, then only the ports in both remain', () => {
    expect(intersectRanges([[1, 1000], [8080, 8090]], [[500, 8085]])).toEqual([[500, 1000], [8080, 8085]]);
    expect(intersectRanges([[1, 10]], [[11, 20]])).toEqual([]);
  });

  it('given a scanned range, when subtracted from a request, then the unscanned part is left', () =>
    expect(subtractRanges([[1, 2000]], [[1, 1000]])).toEqual([[1001, 2000]]));

  it('stores and reads a range list as compact text, port 0 included; refuses what is not one', () => {
    expect(formatRangeList([[8080, 8080], [1, 1000]])).toBe('1-1000,8080');
    expect(formatRangeList([])).toBe('');
    expect(parseRangeList('1-1000,8080')).toEqual([[1, 1000], [8080, 8080]]);
    expect(parseRangeList('0-5')).toEqual([[0, 5]]);
    expect(parseRangeList('')).toEqual([]);
    for (const bad of ['a', '5-1', '1-70000', '1,,2', ' 1']) expect(parseRangeList(bad)).toBeNull();
  });

  it('agrees with set arithmetic on ports (∪, ∩, −, count, text round trip)', () =>
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        const A = ports(a);
        const B = ports(b);
        expect(ports(unionRanges(a, b))).toEqual(new Set([...A, ...B]));
        expect(ports(intersectRanges(a, b))).toEqual(new Set([...A].filter((x) => B.has(x))));
        expect(ports(subtractRanges(a, b))).toEqual(new Set([...A].filter((x) => !B.has(x))));
        expect(countRangePorts(a)).toBe(A.size);
        expect(parseRangeList(formatRangeList(a))).toEqual(a);
      }),
    ));
});
