// Address sets for planning: what a request asks for, minus what is running, queued, done or known,
// cut into task-sized blocks. Everything stays intervals, so a /12 is one pair, not a million strings.

import type { AddressRanges } from '#events';
import { containsPoint, intersectInterval, mergeIntervals, subtractFromInterval, V4_OPS, V6_OPS, type Interval } from '../scanning/intervals.js';
import { formatIPv4, formatIPv6, parseIp, type IpFamily } from '../scanning/ip.js';
import { countTargets, targetSetFromJson, targetSetToJson, type TargetSet } from '../scanning/targets.js';

export const EMPTY_SET: TargetSet = Object.freeze({ v4: [], v6: [] });

export function rangesToSet(ranges: AddressRanges): TargetSet {
  return targetSetFromJson({ ranges });
}

export function setToRanges(set: TargetSet): AddressRanges {
  return targetSetToJson(set).ranges;
}

export function unionSets(sets: readonly TargetSet[]): TargetSet {
  if (sets.length === 0) return EMPTY_SET;
  if (sets.length === 1) return sets[0];
  return { v4: mergeIntervals(sets.flatMap((s) => s.v4), V4_OPS), v6: mergeIntervals(sets.flatMap((s) => s.v6), V6_OPS) };
}

export function subtractSets(a: TargetSet, b: TargetSet): TargetSet {
  return {
    v4: b.v4.length ? a.v4.flatMap(([lo, hi]) => subtractFromInterval(lo, hi, b.v4, V4_OPS)) : a.v4,
    v6: b.v6.length ? a.v6.flatMap(([lo, hi]) => subtractFromInterval(lo, hi, b.v6, V6_OPS)) : a.v6,
  };
}

export function intersectSets(a: TargetSet, b: TargetSet): TargetSet {
  return {
    v4: a.v4.flatMap(([lo, hi]) => intersectInterval(lo, hi, b.v4)),
    v6: a.v6.flatMap(([lo, hi]) => intersectInterval(lo, hi, b.v6)),
  };
}

export const sizeOf = countTargets;

export function setHas(set: TargetSet, ip: string): boolean {
  const p = parseIp(ip);
  if (p === null) return false;
  return p.family === 4 ? containsPoint(set.v4, p.value) : containsPoint(set.v6, p.value);
}

/** The smallest power of two ≥ n (n ≥ 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Addresses per task: one per task while a scan fits the task budget (the best spread over workers,
 * and exact per-address status and cancels); past it, the smallest power of two that keeps the task
 * count within budget, capped.
 */
export function addressesPerTask(addresses: number, maxTasks: number, maxAddressesPerTask: number): number {
  if (addresses <= maxTasks) return 1;
  return Math.min(nextPowerOfTwo(Math.ceil(addresses / maxTasks)), nextPowerOfTwo(maxAddressesPerTask));
}

export interface AddressBlock {
  readonly family: IpFamily;
  readonly ranges: AddressRanges;
  readonly count: number;
}

/**
 * Cuts a set into blocks aligned on multiples of `size` (a power of two): each block is the part of
 * the set inside one aligned window, so the same address always lands in the same window whatever
 * else the set holds. Blocks come out in address order, IPv4 first.
 */
export function* blocksOf(set: TargetSet, size: number): Generator<AddressBlock, void, undefined> {
  if (!Number.isInteger(size) || size < 1 || (size & (size - 1)) !== 0) throw new RangeError(`block size must be a power of two, got ${size}`);
  yield* blocks4(set.v4, size);
  yield* blocks6(set.v6, BigInt(size));
}

function* blocks4(intervals: readonly Interval<number>[], size: number): Generator<AddressBlock> {
  let window = -1;
  let pieces: (readonly [string, string])[] = [];
  let count = 0;
  for (const [lo, hi] of intervals) {
    let start = lo;
    while (start <= hi) {
      const w = Math.floor(start / size);
      const end = Math.min(hi, w * size + size - 1);
      if (w !== window && pieces.length) {
        yield { family: 4, ranges: pieces, count };
        pieces = [];
        count = 0;
      }
      window = w;
      pieces.push([formatIPv4(start), formatIPv4(end)]);
      count += end - start + 1;
      start = end + 1;
    }
  }
  if (pieces.length) yield { family: 4, ranges: pieces, count };
}

function* blocks6(intervals: readonly Interval<bigint>[], size: bigint): Generator<AddressBlock> {
  let window = -1n;
  let pieces: (readonly [string, string])[] = [];
  let count = 0;
  for (const [lo, hi] of intervals) {
    let start = lo;
    while (start <= hi) {
      const w = start / size;
      const windowEnd = w * size + size - 1n;
      const end = hi < windowEnd ? hi : windowEnd;
      if (w !== window && pieces.length) {
        yield { family: 6, ranges: pieces, count };
        pieces = [];
        count = 0;
      }
      window = w;
      pieces.push([formatIPv6(start), formatIPv6(end)]);
      count += Number(end - start + 1n);
      start = end + 1n;
    }
  }
  if (pieces.length) yield { family: 6, ranges: pieces, count };
}

/** How many blocks blocksOf(set, size) yields, without making them: aligned windows the set touches. */
export function countBlocks(set: TargetSet, size: number): number {
  let n = 0;
  let last4 = -1;
  for (const [lo, hi] of set.v4) {
    const a = Math.floor(lo / size);
    const b = Math.floor(hi / size);
    n += b - a + 1 - (a === last4 ? 1 : 0);
    last4 = b;
  }
  const s = BigInt(size);
  let last6 = -1n;
  for (const [lo, hi] of set.v6) {
    const a = lo / s;
    const b = hi / s;
    n += Number(b - a + 1n) - (a === last6 ? 1 : 0);
    last6 = b;
  }
  return n;
}

/** Every address of the ranges, in order, made one at a time. */
export function* addressesOf(ranges: AddressRanges): Generator<string, void, undefined> {
  const set = rangesToSet(ranges);
  for (const [lo, hi] of set.v4) for (let n = lo; n <= hi; n++) yield formatIPv4(n);
  for (const [lo, hi] of set.v6) for (let n = lo; n <= hi; n++) yield formatIPv6(n);
}

/** "10.0.0.1", "10.0.0.0-10.0.0.63, 10.0.0.70": ranges as people read them. */
export function describeRanges(ranges: AddressRanges, max = 8): string {
  const parts = ranges.slice(0, max).map(([a, b]) => (a === b ? a : `${a}-${b}`));
  return ranges.length > max ? `${parts.join(', ')} … (${ranges.length - max} more)` : parts.join(', ');
}
