import type { PortRange } from '#events';

/**
 * Sorted, non-overlapping, non-adjacent inclusive ranges. Everything below assumes this shape, so
 * every range that enters the ledger goes through here first.
 */
export function normaliseRanges(ranges: readonly PortRange[]): PortRange[] {
  const valid = ranges
    .filter(([lo, hi]) => Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)
    .map(([lo, hi]) => [lo, hi] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of valid) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** a − b, both normalised. */
export function subtractRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: [number, number][] = [];
  for (const [lo0, hi] of a) {
    let lo = lo0;
    for (const [blo, bhi] of b) {
      if (bhi < lo || blo > hi) continue;
      if (blo > lo) out.push([lo, blo - 1]);
      lo = bhi + 1;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

export function rangeContaining(ranges: readonly PortRange[], port: number): PortRange | null {
  return ranges.find(([lo, hi]) => lo <= port && port <= hi) ?? null;
}

export function formatRange([lo, hi]: PortRange): string {
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}
