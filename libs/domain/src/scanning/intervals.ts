// Sets of addresses as sorted, disjoint, non-adjacent closed intervals. A million addresses from a
// handful of CIDRs stay a handful of pairs: union, intersection and difference are interval arithmetic.

export type Interval<T> = readonly [lo: T, hi: T];

export interface IntervalOps<T extends number | bigint> {
  inc(x: T): T;
  dec(x: T): T;
  /** Addresses in [lo, hi]. Callers keep sets small enough (see the CIDR caps) for this to be exact. */
  count(lo: T, hi: T): number;
}

export const V4_OPS: IntervalOps<number> = { inc: (x) => x + 1, dec: (x) => x - 1, count: (lo, hi) => hi - lo + 1 };
export const V6_OPS: IntervalOps<bigint> = { inc: (x) => x + 1n, dec: (x) => x - 1n, count: (lo, hi) => Number(hi - lo + 1n) };

/** Sort + merge; touching intervals ([1,2] and [3,4]) merge too so the result is canonical. */
export function mergeIntervals<T extends number | bigint>(xs: readonly Interval<T>[], ops: IntervalOps<T>): Interval<T>[] {
  if (xs.length === 0) return [];
  const sorted = [...xs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [T, T][] = [];
  let [lo, hi] = sorted[0];
  for (let i = 1; i < sorted.length; i++) {
    const [l, h] = sorted[i];
    if (l <= ops.inc(hi)) {
      if (h > hi) hi = h;
    } else {
      out.push([lo, hi]);
      lo = l;
      hi = h;
    }
  }
  out.push([lo, hi]);
  return out;
}

/** Index of the first interval of `merged` whose upper bound is ≥ x (merged.length when none). */
function firstEndingAtOrAfter<T extends number | bigint>(merged: readonly Interval<T>[], x: T): number {
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (merged[mid][1] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function containsPoint<T extends number | bigint>(merged: readonly Interval<T>[], x: T): boolean {
  const i = firstEndingAtOrAfter(merged, x);
  return i < merged.length && merged[i][0] <= x;
}

/** [lo, hi] ∩ merged. */
export function intersectInterval<T extends number | bigint>(lo: T, hi: T, merged: readonly Interval<T>[]): Interval<T>[] {
  const out: Interval<T>[] = [];
  for (let i = firstEndingAtOrAfter(merged, lo); i < merged.length && merged[i][0] <= hi; i++) {
    out.push([merged[i][0] > lo ? merged[i][0] : lo, merged[i][1] < hi ? merged[i][1] : hi]);
  }
  return out;
}

/** [lo, hi] − merged. */
export function subtractFromInterval<T extends number | bigint>(
  lo: T,
  hi: T,
  merged: readonly Interval<T>[],
  ops: IntervalOps<T>,
): Interval<T>[] {
  const out: Interval<T>[] = [];
  let cursor = lo;
  let open = true;
  for (let i = firstEndingAtOrAfter(merged, lo); i < merged.length && merged[i][0] <= hi; i++) {
    const [l, h] = merged[i];
    if (l > cursor) out.push([cursor, ops.dec(l)]);
    if (h >= hi) {
      open = false;
      break;
    }
    cursor = ops.inc(h);
  }
  if (open && cursor <= hi) out.push([cursor, hi]);
  return out;
}

export function countIntervals<T extends number | bigint>(xs: readonly Interval<T>[], ops: IntervalOps<T>): number {
  let n = 0;
  for (const [lo, hi] of xs) n += ops.count(lo, hi);
  return n;
}
